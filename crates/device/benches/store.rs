//! The device store's figures (issue 2, BENCHMARKS.md): create stub against a bare insert with
//! the same pragmas, search at 100k and 1M customers, and one list page; and what encryption
//! costs (issue 12): create stub and every search on the encrypted store against the same store
//! decrypted to plain SQLite, in the same run, with the ratios in the report.
//!
//! Run: `cargo bench -p dukkan-device --bench store` (both sizes, generating and caching the
//! datasets under `target/bench-data/` the first time). `DUKKAN_BENCH_SIZES=100000` picks the
//! sizes; `DUKKAN_BENCH_SIZES=0` runs only the write figures. `DUKKAN_BENCH_ONLY=merges` runs
//! only the issue 13 figures at each size: the duplicate finder (its first look, a full pass,
//! then p95 over its reads), a create while the finder's pairs are kept, and recording an
//! order (p99). `DUKKAN_BENCH_ONLY=search` runs every search kind and a create on the
//! encrypted store only (issue 14, part 6).
//!
//! Criterion reports means with confidence intervals; the goals are percentiles, so every timed
//! call is also recorded individually (`iter_custom`) and p50/p95/p99 are computed from the calls
//! of criterion's measurement samples (warm-up calls excluded). The table is printed at the end
//! and written to `target/bench-data/report.md`.
//!
//! Under `cargo test --benches`/`--all-targets` (no `--bench` flag) it runs as a smoke test: a
//! 2,000-customer dataset in a temporary directory, each routine once, nothing cached.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, SamplingMode};
use dukkan_core::StubInput;
use dukkan_device::{Device, KeyStorage, ListQuery, MatchKind, SearchHit};
use rusqlite::Connection;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Deterministic data: a tiny PRNG so the same index always yields the same customer.

/// SplitMix64: small, fast, and good enough to spread names and numbers.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// Zipf-like choice: item k is about 1/(k+1) as likely as item 0, so a few names dominate
    /// as they do in Oman (Mohammed, Ahmed, Al Balushi...).
    fn zipf<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let total: f64 = (1..=items.len()).map(|k| 1.0 / k as f64).sum();
        let mut x = (self.next() as f64 / u64::MAX as f64) * total;
        for (k, item) in items.iter().enumerate() {
            x -= 1.0 / (k + 1) as f64;
            if x <= 0.0 {
                return item;
            }
        }
        &items[items.len() - 1]
    }
}

/// A name in Latin spellings and Arabic spellings (hamza and ta-marbuta variants included).
type Name = (&'static [&'static str], &'static [&'static str]);

const MALE: &[Name] = &[
    (
        &["Mohammed", "Mohammad", "Muhammad", "Mohamed"],
        &["محمد", "مُحَمَّد", "محمّد"],
    ),
    (&["Ahmed", "Ahmad"], &["أحمد", "احمد", "أَحْمَد"]),
    (&["Ali"], &["علي", "عَلِي"]),
    (&["Said", "Saeed"], &["سعيد"]),
    (&["Salim", "Saleem"], &["سالم"]),
    (&["Khalid", "Khaled"], &["خالد"]),
    (&["Abdullah", "Abdallah"], &["عبدالله", "عبد الله"]),
    (&["Sultan"], &["سلطان"]),
    (&["Hamad"], &["حمد"]),
    (&["Yousuf", "Yusuf", "Youssef"], &["يوسف"]),
    (&["Ibrahim"], &["إبراهيم", "ابراهيم"]),
    (&["Nasser", "Nasir"], &["ناصر"]),
    (&["Saif"], &["سيف"]),
    (&["Rashid"], &["راشد"]),
    (&["Hilal"], &["هلال"]),
    (&["Faisal"], &["فيصل"]),
    (&["Majid"], &["ماجد"]),
    (&["Hamood"], &["حمود"]),
    (&["Issa", "Isa"], &["عيسى", "عيسي"]),
    (&["Omar", "Umar"], &["عمر"]),
    (&["Hussain"], &["حسين"]),
    (&["Talal"], &["طلال"]),
    (&["Tariq"], &["طارق"]),
    (&["Haitham"], &["هيثم"]),
    (&["Azzan"], &["عزان"]),
    (&["Qais"], &["قيس"]),
    (&["Badr"], &["بدر"]),
    (&["Marwan"], &["مروان"]),
    (&["Musallam"], &["مسلم"]),
    (&["Zahir"], &["ظاهر"]),
];

const FEMALE: &[Name] = &[
    (&["Fatima", "Fatma"], &["فاطمة", "فاطمه", "فَاطِمَة"]),
    (&["Aisha", "Ayesha"], &["عائشة", "عايشة"]),
    (&["Maryam", "Mariam"], &["مريم"]),
    (&["Zainab"], &["زينب"]),
    (&["Khadija"], &["خديجة"]),
    (&["Muna", "Mona"], &["منى"]),
    (&["Salma"], &["سلمى"]),
    (&["Noor", "Nour"], &["نور"]),
    (&["Asma"], &["أسماء", "اسماء"]),
    (&["Amal"], &["أمل", "امل"]),
    (&["Huda"], &["هدى"]),
    (&["Shamsa"], &["شمسة"]),
    (&["Thuraya"], &["ثريا"]),
    (&["Badriya"], &["بدرية"]),
    (&["Latifa"], &["لطيفة"]),
    (&["Reem"], &["ريم"]),
    (&["Sara", "Sarah"], &["سارة", "ساره"]),
    (&["Aziza"], &["عزيزة"]),
    (&["Jokha"], &["جوخة"]),
    (&["Laila", "Layla"], &["ليلى"]),
    (&["Ruqaya"], &["رقية"]),
    (&["Hanan"], &["حنان"]),
    (&["Afra"], &["عفراء"]),
];

const FAMILY: &[Name] = &[
    (&["Al Balushi", "Al-Balushi", "Albalushi"], &["البلوشي"]),
    (&["Al Saidi", "Al-Saidi"], &["السعيدي"]),
    (&["Al Hinai"], &["الهنائي"]),
    (&["Al Harthy", "Al Harthi"], &["الحارثي"]),
    (&["Al Busaidi"], &["البوسعيدي"]),
    (&["Al Rawahi"], &["الرواحي"]),
    (&["Al Kindi"], &["الكندي"]),
    (&["Al Amri"], &["العامري"]),
    (&["Al Maskari"], &["المسكري"]),
    (&["Al Farsi"], &["الفارسي"]),
    (&["Al Lawati"], &["اللواتي"]),
    (&["Al Riyami"], &["الريامي"]),
    (&["Al Abri"], &["العبري"]),
    (&["Al Siyabi"], &["السيابي"]),
    (&["Al Mahrouqi"], &["المحروقي"]),
    (&["Al Shukaili"], &["الشكيلي"]),
    (&["Al Hashmi"], &["الهاشمي"]),
    (&["Al Ghafri"], &["الغافري"]),
    (&["Al Jabri"], &["الجابري"]),
    (&["Al Mamari"], &["المعمري"]),
    (&["Al Kalbani"], &["الكلباني"]),
    (&["Al Zadjali"], &["الزدجالي"]),
    (&["Al Wahaibi"], &["الوهيبي"]),
    (&["Al Nabhani"], &["النبهاني"]),
    (&["Al Rashdi"], &["الراشدي"]),
    (&["Al Habsi"], &["الحبسي"]),
    (&["Al Shidi"], &["الشيدي"]),
    (&["Al Yahyai"], &["اليحيائي"]),
    (&["Al Ismaili"], &["الإسماعيلي", "الاسماعيلي"]),
    (&["Al Aghbari"], &["الأغبري", "الاغبري"]),
    (&["Al Said"], &["آل سعيد"]),
];

/// Omani mobile prefixes libphonenumber accepts (7[124-9]x, 9[1-9]x), followed by six digits.
const MOBILE_PREFIXES: [u32; 16] = [
    71, 72, 74, 75, 76, 77, 78, 79, 91, 92, 93, 94, 95, 96, 97, 98,
];
/// The size of that number space: 16 prefixes × 10^6 = 2^10 · 5^6.
const PHONE_SPACE: u64 = 16_000_000;

/// The national number of customer `i`: a bijection of `0..PHONE_SPACE` (multiplier coprime to
/// 2 and 5), so numbers are unique yet scattered over every prefix.
fn phone_of(i: u64) -> String {
    let v = (i.wrapping_mul(7_777_777) + 1_234_567) % PHONE_SPACE;
    format!(
        "{}{:06}",
        MOBILE_PREFIXES[(v / 1_000_000) as usize],
        v % 1_000_000
    )
}

/// Sprinkles harakat over Arabic letters, as some people type their name.
fn with_tashkeel(rng: &mut Rng, word: &str) -> String {
    const HARAKAT: [char; 4] = ['\u{064E}', '\u{064F}', '\u{0650}', '\u{0652}'];
    let mut out = String::new();
    for c in word.chars() {
        out.push(c);
        if c != ' ' && rng.chance(40) {
            out.push(*rng.pick(&HARAKAT));
        }
    }
    out
}

/// Customer `i` of the generated population. Phones are unique for `i < PHONE_SPACE`.
fn customer(i: u64) -> StubInput {
    let mut rng = Rng::new(i ^ 0x00D0_CCA4);
    let first = if rng.chance(55) {
        rng.zipf(MALE)
    } else {
        rng.zipf(FEMALE)
    };
    let father = rng.zipf(MALE);
    let family = rng.zipf(FAMILY);
    let first_ar = rng.pick(first.1).to_string();
    let first_ar = if rng.chance(5) {
        with_tashkeel(&mut rng, &first_ar)
    } else if rng.chance(1) {
        // A tatweel after the first letter: "محـمد".
        let mut chars = first_ar.chars();
        let head = chars.next().unwrap_or_default();
        format!("{head}\u{0640}{}", chars.as_str())
    } else {
        first_ar
    };
    let name2 = match rng.below(100) {
        0..=59 => Some(format!("{first_ar} {}", rng.pick(family.1))),
        60..=84 => Some(format!(
            "{first_ar} بن {} {}",
            rng.pick(father.1),
            rng.pick(family.1)
        )),
        _ => None,
    };
    let last_name = if rng.chance(90) {
        Some(rng.pick(family.0).to_string())
    } else {
        None
    };
    let national = phone_of(i);
    // The notations a cashier or an old system's export would use.
    let phone = match rng.below(4) {
        0 => national,
        1 => format!("+968 {} {}", &national[..4], &national[4..]),
        2 => format!("00968{national}"),
        _ => format!("{}-{}", &national[..4], &national[4..]),
    };
    StubInput {
        first_name: rng.pick(first.0).to_string(),
        last_name,
        name2,
        phone,
    }
}

// ---------------------------------------------------------------------------------------------
// Datasets.

const IMPORT_CHUNK: usize = 20_000;
/// Bump when the generator changes, so stale cached datasets are not reused.
const DATASET_VERSION: u32 = 1;

fn bench_data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds a store of `n` customers through the real write path (`import_stubs`: row, name
/// index, outbox op and audit entry per customer), then stands in for the server by numbering
/// them (`customer_number = seq`).
///
/// Workaround, see BENCHMARKS.md: without planner statistics, the duplicate-phone check of
/// every create (`phone = ? AND active = 1 ORDER BY id LIMIT 1`) walks the `(active, id)` index
/// over every customer, so an import is quadratic and 1M rows would take hours. The generator
/// therefore runs `ANALYZE` after a small first chunk (the planner then uses the phone index),
/// and drops the statistics at the end: the app never runs `ANALYZE`, so the measured reads run
/// with the plans the app gets.
fn generate(path: &Path, n: u64) {
    let started = Instant::now();
    let device = owned(Device::open(path).unwrap());
    let stats = dukkan_device::store::connect_existing(path).unwrap();
    dukkan_device::store::configure(&stats).unwrap();
    let mut next = 0;
    while next < n {
        let chunk = if next == 0 {
            1_000
        } else {
            IMPORT_CHUNK as u64
        };
        let end = (next + chunk).min(n);
        let batch: Vec<StubInput> = (next..end).map(customer).collect();
        let created = device.import_stubs(&batch).unwrap_or_else(|(row, e)| {
            panic!("generated row {} refused: {e:?}", next + row as u64)
        });
        assert_eq!(created, batch.len(), "generated phones must be unique");
        if next == 0 {
            stats.execute_batch("ANALYZE").unwrap();
        }
        let crossed = end / 100_000 != next / 100_000;
        next = end;
        if crossed || next == n {
            eprintln!(
                "  {next} / {n} customers ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    drop(device);
    stats
        .execute_batch(
            "DROP TABLE IF EXISTS sqlite_stat1;
             DROP TABLE IF EXISTS sqlite_stat4;
             UPDATE customers SET customer_number = seq;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    eprintln!(
        "  generated {n} customers in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// The cached store of `n` customers, generated on first use.
fn dataset(dir: &Path, n: u64, cache: bool) -> PathBuf {
    let path = dir.join(format!("customers-v{DATASET_VERSION}-{n}.sqlite3"));
    // A dataset made by an older schema (or an edited migration) is regenerated.
    if cache && path.exists() && Device::open(&path).is_ok() {
        return path;
    }
    eprintln!("generating {}", path.display());
    // Built under a temporary name and renamed when complete, so an interrupted run is not
    // mistaken for a finished dataset.
    let partial = dir.join(format!("customers-v{DATASET_VERSION}-{n}.partial.sqlite3"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    generate(&partial, n);
    // The key is kept under the store's path: keep it for the final name too.
    dukkan_device::store_key::copy_key(&partial, &path).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path
}

/// Opens a standalone till as its owner, as a person at it would be signed in (a cheap verifier:
/// sign-in is not what is measured here).
fn owned(device: Device) -> Device {
    if device.staff_session().owner_pin_required {
        device.set_owner_pin_cheaply("Owner", "246810").unwrap();
    } else {
        let owner = device.staff_roster().unwrap().remove(0);
        device.sign_in(&owner.id, "246810").unwrap();
    }
    device
}

// ---------------------------------------------------------------------------------------------
// Per-call timings and the report.

/// The same store as plain SQLite (the encryption baseline), decrypted with SQLCipher's own
/// export next to `encrypted`; made once per dataset.
fn plain_copy(encrypted: &Path) -> PathBuf {
    let plain = PathBuf::from(format!("{}.plain", encrypted.display()));
    if plain.exists() && Device::open_with(&plain, KeyStorage::Unencrypted).is_ok() {
        return plain;
    }
    let partial = PathBuf::from(format!("{}.plain-partial", encrypted.display()));
    let _ = std::fs::remove_file(&partial);
    let conn = dukkan_device::store::connect_existing(encrypted).unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [partial.to_str().unwrap()],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("DETACH DATABASE plain").unwrap();
    drop(conn);
    std::fs::rename(&partial, &plain).unwrap();
    plain
}

/// Records each call's duration, one batch per criterion sample, so percentiles can be taken
/// over the measurement samples only.
#[derive(Default)]
struct Calls {
    batches: Vec<Vec<Duration>>,
}

impl Calls {
    /// Times `iters` calls of `f` individually; returns the total for criterion.
    fn run(&mut self, iters: u64, mut f: impl FnMut()) -> Duration {
        let mut batch = Vec::with_capacity(iters as usize);
        for _ in 0..iters {
            let start = Instant::now();
            f();
            batch.push(start.elapsed());
        }
        let total = batch.iter().sum();
        self.batches.push(batch);
        total
    }

    /// Percentiles over the last `samples` batches: criterion's measurement phase calls the
    /// routine once per sample, after its warm-up calls.
    fn summary(&self, samples: usize) -> Option<Summary> {
        let skip = self.batches.len().saturating_sub(samples);
        let mut all: Vec<Duration> = self.batches[skip..].iter().flatten().copied().collect();
        if all.is_empty() {
            return None;
        }
        all.sort_unstable();
        // Nearest-rank percentile.
        let at =
            |p: f64| all[((p / 100.0 * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1];
        Some(Summary {
            n: all.len(),
            mean: all.iter().sum::<Duration>() / all.len() as u32,
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: all[all.len() - 1],
        })
    }
}

#[derive(Clone, Copy)]
struct Summary {
    n: usize,
    mean: Duration,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

struct Report {
    rows: Vec<(String, Summary, String)>,
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

impl Report {
    fn add(&mut self, name: &str, calls: &Calls, samples: usize, note: String) -> Option<Summary> {
        let s = calls.summary(samples)?;
        eprintln!(
            "{name}: n={} mean={} ms p50={} ms p95={} ms p99={} ms max={} ms {note}",
            s.n,
            ms(s.mean),
            ms(s.p50),
            ms(s.p95),
            ms(s.p99),
            ms(s.max)
        );
        self.rows.push((name.to_owned(), s, note));
        Some(s)
    }

    /// Notes on the encrypted row `name` its cost against the plain baseline.
    fn ratio(&mut self, name: &str, encrypted: Option<Summary>, plain: Option<Summary>) {
        let (Some(e), Some(p)) = (encrypted, plain) else {
            return;
        };
        let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        let note = format!(
            "encrypted / plain: p50 ×{:.2}, p95 ×{:.2}, p99 ×{:.2}",
            r(e.p50, p.p50),
            r(e.p95, p.p95),
            r(e.p99, p.p99)
        );
        eprintln!("{name}: {note}");
        if let Some(row) = self.rows.iter_mut().find(|row| row.0 == name) {
            row.2 = if row.2.is_empty() {
                note
            } else {
                format!("{note}; {}", row.2)
            };
        }
    }

    fn write(&self, path: &Path) {
        let mut out = String::from(
            "| benchmark | calls | mean ms | p50 ms | p95 ms | p99 ms | max ms | note |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
        );
        for (name, s, note) in &self.rows {
            out.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} | {} | {note} |\n",
                s.n,
                ms(s.mean),
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                ms(s.max)
            ));
        }
        println!("\n{out}");
        std::fs::write(path, out).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks.

const SAMPLES: usize = 100;

/// Create stub (row + name index + outbox + audit, one durable transaction) against a bare
/// one-row insert on a connection with the same pragmas, in the same directory and run.
fn bench_writes(c: &mut Criterion, report: &mut Report, dir: &Path) {
    let scratch = tempfile::tempdir_in(dir).unwrap();
    let device = owned(Device::open(scratch.path().join("create.sqlite3")).unwrap());
    let plain_device = owned(
        Device::open_with(
            scratch.path().join("plain.sqlite3"),
            KeyStorage::Unencrypted,
        )
        .unwrap(),
    );
    let bare = Connection::open(scratch.path().join("bare.sqlite3")).unwrap();
    dukkan_device::store::configure(&bare).unwrap();
    bare.execute_batch("CREATE TABLE scratch (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        .unwrap();

    let mut group = c.benchmark_group("write");
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(10));

    // Indexes far above the datasets' (< 1M), so the phones never collide.
    let mut i = 15_000_000u64;
    let mut create = Calls::default();
    group.bench_function("create_stub", |b| {
        b.iter_custom(|iters| {
            create.run(iters, || {
                let outcome = device.create_stub(&customer(i)).unwrap();
                assert!(matches!(outcome, dukkan_device::StubOutcome::Created(_)));
                i += 1;
            })
        })
    });

    let mut j = 16_000_000u64;
    let mut create_plain = Calls::default();
    group.bench_function("create_stub_plain", |b| {
        b.iter_custom(|iters| {
            create_plain.run(iters, || {
                let outcome = plain_device.create_stub(&customer(j)).unwrap();
                assert!(matches!(outcome, dukkan_device::StubOutcome::Created(_)));
                j += 1;
            })
        })
    });

    let payload = "x".repeat(120);
    let mut insert = Calls::default();
    group.bench_function("bare_insert", |b| {
        b.iter_custom(|iters| {
            insert.run(iters, || {
                bare.prepare_cached("INSERT INTO scratch (payload) VALUES (?1)")
                    .unwrap()
                    .execute([&payload])
                    .unwrap();
            })
        })
    });
    group.finish();

    let created = report.add("write/create_stub", &create, SAMPLES, String::new());
    let plain_s = report.add(
        "write/create_stub (plain)",
        &create_plain,
        SAMPLES,
        String::new(),
    );
    report.ratio("write/create_stub", created, plain_s);
    let bare_s = report.add("write/bare_insert", &insert, SAMPLES, String::new());
    if let (Some(cs), Some(bs)) = (created, bare_s) {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        let note = format!(
            "create_stub / bare_insert: p50 ×{:.2}, p99 ×{:.2}",
            ratio(cs.p50, bs.p50),
            ratio(cs.p99, bs.p99)
        );
        eprintln!("{note}");
        if let Some(row) = report.rows.iter_mut().find(|r| r.0 == "write/create_stub") {
            row.2 = format!("{}; {note}", row.2);
        }
    }
}

/// Queries a cashier types, drawn from customers that exist in a dataset of `n`.
struct Queries {
    kind: &'static str,
    list: Vec<String>,
}

fn queries(n: u64) -> Vec<Queries> {
    let mut rng = Rng::new(42);
    let mut someone = || customer(rng.next() % n);
    let mut rng2 = Rng::new(7);
    let count = 256;
    let national = |s: &StubInput| {
        let digits: String = s.phone.chars().filter(char::is_ascii_digit).collect();
        digits[digits.len() - 8..].to_owned()
    };
    let mut last4 = Vec::new();
    let mut full = Vec::new();
    let mut latin = Vec::new();
    let mut arabic = Vec::new();
    let mut number = Vec::new();
    for k in 0..count {
        let s = someone();
        let nat = national(&s);
        last4.push(nat[4..].to_owned());
        full.push(match k % 3 {
            0 => nat.clone(),
            1 => format!("+968 {} {}", &nat[..4], &nat[4..]),
            _ => format!("968{nat}"),
        });
        // Latin: a prefix of the first name (3+ letters), sometimes with the start of the
        // family name, sometimes the family name alone.
        let first = s.first_name.to_lowercase();
        let cut = |w: &str, rng: &mut Rng| -> String {
            let len = w.chars().count();
            let take = 3 + rng.below(len.saturating_sub(2).max(1));
            w.chars().take(take.min(len)).collect()
        };
        let family_word = s
            .last_name
            .as_deref()
            .map(|l| l.rsplit([' ', '-']).next().unwrap_or(l).to_lowercase());
        latin.push(match (k % 4, &family_word) {
            (2, Some(f)) => format!("{first} {}", cut(f, &mut rng2)),
            (3, Some(f)) => cut(f, &mut rng2),
            _ => cut(&first, &mut rng2),
        });
        // Arabic: the same shapes on name2.
        let name2 = s.name2.unwrap_or_else(|| "محمد البلوشي".to_owned());
        let words: Vec<&str> = name2.split(' ').collect();
        let family_ar = words[words.len() - 1];
        arabic.push(match k % 4 {
            2 if words.len() > 1 => format!("{} {}", words[0], cut(family_ar, &mut rng2)),
            3 if words.len() > 1 => cut(family_ar, &mut rng2),
            _ => cut(words[0], &mut rng2),
        });
        number.push(format!("CUST-{:05}", 1 + rng2.next() % n));
    }
    vec![
        Queries {
            kind: "phone_last4",
            list: last4,
        },
        Queries {
            kind: "phone_full",
            list: full,
        },
        Queries {
            kind: "name_latin_prefix",
            list: latin,
        },
        Queries {
            kind: "name_arabic_prefix",
            list: arabic,
        },
        Queries {
            kind: "customer_number",
            list: number,
        },
    ]
}

/// Results a cashier sees; the UI asks for this many.
const SEARCH_LIMIT: usize = 20;

/// Queries of each kind checked (and run once to warm the cache) before timing: at 1M a slow
/// query kind makes checking all of them take minutes.
const CHECKED: usize = 64;

/// Whether a query found what it should, so the timings are of real work.
fn found(kind: &str, hits: &[SearchHit]) -> bool {
    let first = hits.first().map(|h| h.matched);
    match kind {
        // Four digits are also read as a customer number, which ranks first.
        "phone_last4" => hits.iter().any(|h| h.matched == MatchKind::PhoneLast4),
        "phone_full" => first == Some(MatchKind::PhoneExact),
        "customer_number" => first == Some(MatchKind::CustomerNumber),
        _ => first.is_some(),
    }
}

/// The statements `Device::search`, `Device::list_customers` and the duplicate-phone check of
/// `create_stub` run (copied from `src/search.rs` and `src/customers.rs`; keep in step), whose
/// plans are printed before the timings so a slow figure can be read against its plan.
const PLANS: &[(&str, &str)] = &[
    ("create: duplicate phone check", "SELECT c.id FROM customers c WHERE c.phone = '+96892123456' AND c.active = 1 ORDER BY c.id LIMIT 1"),
    ("search: customer number", "SELECT c.id FROM customers c WHERE c.customer_number = 42 AND c.active = 1 LIMIT 20"),
    ("search: phone exact", "SELECT c.id FROM customers c WHERE c.phone = '+96892123456' AND c.active = 1 LIMIT 20"),
    ("search: phone last 4", "SELECT c.id FROM customers c WHERE c.phone_last4 = '3456' AND c.active = 1 ORDER BY c.id DESC LIMIT 20"),
    ("search: national prefix", "SELECT c.id FROM customers c WHERE c.phone_national >= '9212' AND c.phone_national < '9213' AND c.active = 1 ORDER BY c.phone_national LIMIT 20"),
    ("search: E.164 prefix", "SELECT c.id FROM customers c WHERE c.phone >= '+9212' AND c.phone < '+9213' AND c.active = 1 ORDER BY c.phone LIMIT 20"),
    ("search: email prefix", "SELECT c.id FROM customers c WHERE lower(c.email) >= 'moh' AND lower(c.email) < 'moi' AND c.active = 1 ORDER BY lower(c.email) LIMIT 20"),
    ("search: name (FTS5)", "SELECT c.id FROM customers c JOIN customers_fts f ON f.rowid = c.seq WHERE customers_fts MATCH '\"moh\"*' AND c.active = 1 ORDER BY f.rowid DESC LIMIT 20"),
    ("search: long name prefix, whole tokens", "SELECT term FROM name_terms WHERE term >= 'moham' AND term < 'mohan' ORDER BY term LIMIT 65"),
    ("search: long name prefix (FTS5)", "SELECT c.id FROM customers c JOIN customers_fts f ON f.rowid = c.seq WHERE customers_fts MATCH '(\"mohammed\" OR \"mohammad\")' AND c.active = 1 ORDER BY f.rowid DESC LIMIT 20"),
    ("list: first page", "SELECT c.id FROM customers c ORDER BY c.id DESC LIMIT 51"),
    ("list: keyset page", "SELECT c.id FROM customers c WHERE c.id < 'z' ORDER BY c.id DESC LIMIT 51"),
];

fn print_plans(path: &Path) {
    let conn = dukkan_device::store::connect_existing(path).unwrap();
    for (label, sql) in PLANS {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        eprintln!("plan of {label}: {}", steps.join("; "));
    }
}

/// The store a run measures: the encrypted one the app opens, or its plain baseline.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Encrypted,
    Plain,
}

impl Variant {
    /// What the report appends to the plain rows' names.
    fn suffix(self) -> &'static str {
        match self {
            Variant::Encrypted => "",
            Variant::Plain => " (plain)",
        }
    }
    fn open(self, path: &Path) -> Device {
        match self {
            Variant::Encrypted => owned(Device::open(path).unwrap()),
            Variant::Plain => owned(Device::open_with(path, KeyStorage::Unencrypted).unwrap()),
        }
    }
}

/// Create stub on a copy of the `n`-customer store: what a till with that many customers pays.
fn bench_create_at(
    c: &mut Criterion,
    report: &mut Report,
    (path, variant): (&Path, Variant),
    n: u64,
    dir: &Path,
) -> Option<Summary> {
    let scratch = tempfile::tempdir_in(dir).unwrap();
    let copy = scratch.path().join("copy.sqlite3");
    std::fs::copy(path, &copy).unwrap();
    if variant == Variant::Encrypted {
        dukkan_device::store_key::copy_key(path, &copy).unwrap();
    }
    let device = variant.open(&copy);
    let mut group = c.benchmark_group(format!("write/{n}{}", variant.suffix()));
    // Few samples: a create may take long at this size (see BENCHMARKS.md).
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let mut i = 14_000_000u64;
    let mut calls = Calls::default();
    group.bench_function("create_stub", |b| {
        b.iter_custom(|iters| {
            calls.run(iters, || {
                let outcome = device.create_stub(&customer(i)).unwrap();
                assert!(matches!(outcome, dukkan_device::StubOutcome::Created(_)));
                i += 1;
            })
        })
    });
    group.finish();
    report.add(
        &format!("write/{n}/create_stub{}", variant.suffix()),
        &calls,
        10,
        format!("on a copy of the {n}-customer store"),
    )
}

/// Every search kind and a list page on the `n`-customer store; the percentiles by row name.
fn bench_size(
    c: &mut Criterion,
    report: &mut Report,
    (path, variant): (&Path, Variant),
    n: u64,
) -> Vec<(String, Summary)> {
    let mut measured = Vec::new();
    let device = variant.open(path);
    if variant == Variant::Encrypted {
        print_plans(path);
    }
    let queries = queries(n);
    // Warm the cache and check the queries: a few misses are reported (they are findings about
    // the search), many mean the benchmark itself is wrong.
    let misses: Vec<Vec<&str>> = queries
        .iter()
        .map(|q| {
            q.list
                .iter()
                .take(CHECKED)
                .filter(|query| !found(q.kind, &device.search(query, SEARCH_LIMIT).unwrap()))
                .map(String::as_str)
                .collect()
        })
        .collect();
    for (q, missed) in queries.iter().zip(&misses) {
        if !missed.is_empty() {
            eprintln!(
                "{}: {} of {CHECKED} checked queries missed: {missed:?}",
                q.kind,
                missed.len()
            );
        }
        assert!(
            missed.len() * 10 < CHECKED,
            "{} queries mostly miss",
            q.kind
        );
    }

    let mut group = c.benchmark_group(format!("search/{n}{}", variant.suffix()));
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5));
    for (q, missed) in queries.iter().zip(&misses) {
        let mut calls = Calls::default();
        let mut k = 0;
        group.bench_function(q.kind, |b| {
            b.iter_custom(|iters| {
                calls.run(iters, || {
                    let query = &q.list[k % q.list.len()];
                    k += 1;
                    black_box(device.search(query, SEARCH_LIMIT).unwrap());
                })
            })
        });
        let name = format!("search/{n}/{}", q.kind);
        if let Some(s) = report.add(
            &format!("{name}{}", variant.suffix()),
            &calls,
            SAMPLES,
            format!(
                "{} distinct queries ({} of {CHECKED} checked missed), e.g. {:?}",
                q.list.len(),
                missed.len(),
                q.list[1]
            ),
        ) {
            measured.push((name, s));
        }
    }
    group.finish();

    // Same-run baseline of issue 14, part 6: the statement name searches ran before V9, every
    // word a prefix asked of FTS5 as such (`"moham"*`), on the same store and queries. It is
    // one of the three statements a search then ran (whole words, prefixes, emails), so the
    // ratio flatters the baseline.
    if variant == Variant::Encrypted {
        let conn = dukkan_device::store::connect_existing(path).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT c.id FROM customers c JOIN customers_fts f ON f.rowid = c.seq
                 WHERE customers_fts MATCH ?1 AND +c.active = 1 ORDER BY f.rowid DESC LIMIT 20",
            )
            .unwrap();
        let mut group = c.benchmark_group(format!("search/{n}/before-v9"));
        group
            .sample_size(SAMPLES)
            .sampling_mode(SamplingMode::Flat)
            .measurement_time(Duration::from_secs(5));
        for q in queries.iter().filter(|q| q.kind.starts_with("name_")) {
            let expressions: Vec<String> = q
                .list
                .iter()
                .map(|query| {
                    dukkan_core::search::search_tokens(query)
                        .iter()
                        .map(|t| format!("\"{t}\"*"))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                })
                .collect();
            let mut calls = Calls::default();
            let mut k = 0;
            group.bench_function(q.kind, |b| {
                b.iter_custom(|iters| {
                    calls.run(iters, || {
                        let e = &expressions[k % expressions.len()];
                        k += 1;
                        let ids: Vec<String> = stmt
                            .query_map([e], |r| r.get(0))
                            .unwrap()
                            .collect::<rusqlite::Result<_>>()
                            .unwrap();
                        black_box(ids);
                    })
                })
            });
            let name = format!("search/{n}/{}", q.kind);
            let before = report.add(
                &format!("{name}/before-v9"),
                &calls,
                SAMPLES,
                "the prefix statement alone, as before V9".into(),
            );
            if let (Some(a), Some(b)) = (measured.iter().find(|(m, _)| *m == name), before) {
                let r = |x: Duration, y: Duration| y.as_secs_f64() / x.as_secs_f64().max(1e-9);
                eprintln!(
                    "{name}: before V9 / after: p50 ×{:.1}, p95 ×{:.1}, p99 ×{:.1}",
                    r(a.1.p50, b.p50),
                    r(a.1.p95, b.p95),
                    r(a.1.p99, b.p99)
                );
            }
        }
        group.finish();
    }

    // Keyset cursors spread over the whole list (the ids just after random positions).
    let cursors: Vec<String> = {
        let conn = dukkan_device::store::connect_existing(path).unwrap();
        let mut rng = Rng::new(99);
        (0..64)
            .map(|_| {
                let offset = 50 + rng.next() % n.saturating_sub(100).max(1);
                conn.query_row(
                    "SELECT id FROM customers ORDER BY id DESC LIMIT 1 OFFSET ?1",
                    [offset as i64],
                    |r| r.get(0),
                )
                .unwrap()
            })
            .collect()
    };
    let mut group = c.benchmark_group(format!("list/{n}{}", variant.suffix()));
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5));
    for (name, deep) in [("first_page", false), ("deep_page", true)] {
        let mut calls = Calls::default();
        let mut k = 0;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                calls.run(iters, || {
                    let q = ListQuery {
                        limit: Some(50),
                        after: deep.then(|| cursors[k % cursors.len()].clone()),
                        ..Default::default()
                    };
                    k += 1;
                    let page = device.list_customers(&q).unwrap();
                    assert_eq!(page.items.len(), 50);
                    black_box(page);
                })
            })
        });
        let note = if deep {
            format!(
                "50 rows after {} cursors spread over the list",
                cursors.len()
            )
        } else {
            "50 newest rows".to_owned()
        };
        let row = format!("list/{n}/{name}");
        if let Some(s) = report.add(&format!("{row}{}", variant.suffix()), &calls, SAMPLES, note) {
            measured.push((row, s));
        }
    }
    group.finish();
    measured
}

/// The issue 13 figures on a copy of the `n`-customer store: the duplicate finder's first look
/// (one full pass), its reads (p95), a create with the pairs kept (the write-time lookups of the
/// phone and the phones one digit apart), and recording an order (p99).
fn bench_merges_and_orders(
    c: &mut Criterion,
    report: &mut Report,
    path: &Path,
    n: u64,
    dir: &Path,
) {
    let scratch = tempfile::tempdir_in(dir).unwrap();
    let copy = scratch.path().join("copy.sqlite3");
    std::fs::copy(path, &copy).unwrap();
    dukkan_device::store_key::copy_key(path, &copy).unwrap();
    let device = Variant::Encrypted.open(&copy);
    // The baseline: creates before the finder's first look (its pairs not kept yet).
    let mut i = 12_000_000u64;
    let creates = |group_name: String, calls: &mut Calls, i: &mut u64, c: &mut Criterion| {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .measurement_time(Duration::from_secs(5))
            .warm_up_time(Duration::from_secs(1));
        group.bench_function("create_stub", |b| {
            b.iter_custom(|iters| {
                calls.run(iters, || {
                    let outcome = device.create_stub(&customer(*i)).unwrap();
                    assert!(matches!(outcome, dukkan_device::StubOutcome::Created(_)));
                    *i += 1;
                })
            })
        });
        group.finish();
    };
    let mut before = Calls::default();
    creates(format!("merges/{n}/create_before"), &mut before, &mut i, c);
    let baseline = report.add(
        &format!("write/{n}/create_stub_pairs_not_kept"),
        &before,
        10,
        "baseline, same copy and run: before the finder's first look".to_owned(),
    );
    let start = Instant::now();
    let pairs = device.likely_duplicates().unwrap();
    let first = start.elapsed();
    eprintln!(
        "duplicates/{n}/first_look: {} ms (one full pass; {} pairs shown)",
        ms(first),
        pairs.len()
    );
    report.rows.push((
        format!("duplicates/{n}/first_look"),
        Summary {
            n: 1,
            mean: first,
            p50: first,
            p95: first,
            p99: first,
            max: first,
        },
        format!(
            "one full pass filling the pairs table; {} pairs shown",
            pairs.len()
        ),
    ));
    let mut group = c.benchmark_group(format!("merges/{n}"));
    group
        .sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5));
    let mut calls = Calls::default();
    group.bench_function("likely_duplicates", |b| {
        b.iter_custom(|iters| {
            calls.run(iters, || {
                drop(black_box(device.likely_duplicates().unwrap()))
            })
        })
    });
    report.add(
        &format!("duplicates/{n}/look"),
        &calls,
        SAMPLES,
        format!(
            "reads the kept pairs ({} shown) and loads both customers of each",
            pairs.len()
        ),
    );
    // Orders for customers spread over the store.
    let ids: Vec<dukkan_core::CustomerId> = {
        let conn = dukkan_device::store::connect_existing(&copy).unwrap();
        let mut stmt = conn
            .prepare("SELECT id FROM customers WHERE seq % ?1 = 7 LIMIT 512")
            .unwrap();
        let rows = stmt
            .query_map([(n / 512).max(1) as i64], |r| r.get::<_, String>(0))
            .unwrap();
        rows.map(|r| r.unwrap().parse().unwrap()).collect()
    };
    let mut calls = Calls::default();
    let mut k = 0usize;
    group.bench_function("record_order", |b| {
        b.iter_custom(|iters| {
            calls.run(iters, || {
                let input = dukkan_device::OrderInput {
                    ticket: None,
                    amount: format!("{}.{:03}", 1 + k % 20, k % 1000),
                    pieces: "2".into(),
                    note: None,
                };
                black_box(device.record_order(ids[k % ids.len()], &input).unwrap());
                k += 1;
            })
        })
    });
    report.add(
        &format!("orders/{n}/record_order"),
        &calls,
        SAMPLES,
        format!("order, figures, points, outbox op and audit entry in one durable transaction; {} customers", ids.len()),
    );
    group.finish();
    let mut after = Calls::default();
    creates(format!("merges/{n}/create_after"), &mut after, &mut i, c);
    let kept = report.add(
        &format!("write/{n}/create_stub_pairs_kept"),
        &after,
        10,
        "with the duplicate finder's pairs kept (write-time phone lookups)".to_owned(),
    );
    if let (Some(k), Some(b)) = (kept, baseline) {
        let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        eprintln!(
            "write/{n}: pairs kept / not kept: p50 ×{:.2}, p95 ×{:.2}, p99 ×{:.2}",
            r(k.p50, b.p50),
            r(k.p95, b.p95),
            r(k.p99, b.p99)
        );
    }
}

fn sizes() -> Vec<u64> {
    let raw = std::env::var("DUKKAN_BENCH_SIZES").unwrap_or_else(|_| "100000,1000000".into());
    raw.split(',')
        .map(|s| s.trim().replace('_', ""))
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .expect("DUKKAN_BENCH_SIZES: comma-separated numbers")
        })
        .filter(|&n| n > 0)
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only a smoke run.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    let mut report = Report { rows: Vec::new() };
    let data_dir = bench_data_dir();
    let smoke_dir = tempfile::tempdir().unwrap();
    let (dir, sizes) = if benchmarking {
        (data_dir.as_path(), sizes())
    } else {
        (smoke_dir.path(), vec![2_000])
    };

    // DUKKAN_BENCH_ONLY=merges: the duplicate finder and orders only; =search: every search
    // kind and a create on the encrypted store only (no plain baseline).
    let only = std::env::var("DUKKAN_BENCH_ONLY").unwrap_or_default();
    let (only_merges, only_search) = (only == "merges", only == "search");
    if !only_merges && !only_search {
        bench_writes(&mut c, &mut report, dir);
    }
    for n in sizes {
        let path = dataset(dir, n, benchmarking);
        if only_search {
            bench_size(&mut c, &mut report, (&path, Variant::Encrypted), n);
            bench_create_at(&mut c, &mut report, (&path, Variant::Encrypted), n, dir);
            continue;
        }
        bench_merges_and_orders(&mut c, &mut report, &path, n, dir);
        if only_merges {
            continue;
        }
        let plain = plain_copy(&path);
        let encrypted = bench_size(&mut c, &mut report, (&path, Variant::Encrypted), n);
        let baseline = bench_size(&mut c, &mut report, (&plain, Variant::Plain), n);
        for (name, e) in &encrypted {
            let p = baseline
                .iter()
                .find(|(other, _)| other == name)
                .map(|b| b.1);
            report.ratio(name, Some(*e), p);
        }
        let e = bench_create_at(&mut c, &mut report, (&path, Variant::Encrypted), n, dir);
        let p = bench_create_at(&mut c, &mut report, (&plain, Variant::Plain), n, dir);
        report.ratio(&format!("write/{n}/create_stub"), e, p);
        if !benchmarking {
            let _ = std::fs::remove_file(&plain);
        }
    }
    c.final_summary();
    if benchmarking {
        report.write(&data_dir.join("report.md"));
    }
}
