//! Two server instances on one Postgres, as behind a load balancer: a change pushed through
//! instance A wakes a till whose long-poll waits on instance B (Postgres `NOTIFY` crosses the
//! instances), and when B stops mid-test its tills reconnect through the balancer to A and
//! everything converges. Real tills on their own SQLite files, real HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{device_view, difference, enrolled_device, server_view, stub, wait_until_synced};
use dukkan_device::engine::{self, ServerConfig};
use dukkan_server::limits::LimitConfig;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::TestApp;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A load balancer in front of the instances: each new connection goes to the current
/// upstream; failing over cuts the open connections (as when an instance dies) so their
/// clients reconnect.
struct Balancer {
    url: String,
    upstream: watch::Sender<SocketAddr>,
}

impl Balancer {
    async fn start(upstream: SocketAddr) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = watch::channel(upstream);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let to = *rx.borrow_and_update();
                    let Ok(mut outbound) = TcpStream::connect(to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Balancer { url, upstream: tx }
    }

    fn fail_over(&self, to: SocketAddr) {
        self.upstream.send_replace(to);
    }
}

fn addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// Engine settings whose idle till waits on one long-poll for 25 s: only a wake-up from the
/// server can bring it a change sooner.
fn waiting_config(url: &str, token: &str) -> ServerConfig {
    let mut config = ServerConfig::new(url, token);
    config.request_timeout = Duration::from_secs(5);
    config.retry_max = Duration::from_secs(1);
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_through_one_instance_wakes_a_till_waiting_on_another_and_tills_converge_when_an_instance_stops(
) {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("shop").await;
    let (b_base, b_changes, stop_b) = app.stoppable_instance(LimitConfig::default()).await;
    let balancer = Balancer::start(addr(&b_base)).await;

    let on_a = enrolled_device(&app, "shop").await;
    let on_b = enrolled_device(&app, "shop").await;
    let (_, token_a) = on_a.enrollment();
    let (_, token_b) = on_b.enrollment();
    let engine_a = engine::spawn(on_a.device.clone(), waiting_config(&app.base, &token_a)).unwrap();
    let engine_b =
        engine::spawn(on_b.device.clone(), waiting_config(&balancer.url, &token_b)).unwrap();
    wait_until_synced(&mut engine_a.status(), Duration::from_secs(20)).await;
    wait_until_synced(&mut engine_b.status(), Duration::from_secs(20)).await;
    // Let the till on B settle into its long-poll on B, with B listening for notifications.
    common::poll_until("B listens", Duration::from_secs(10), || {
        b_changes.is_listening()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Idle, the till's pull waits on B without looking at the feed again (B rechecks every 5 s
    // while notifications arrive; it would look every 200 ms without them): so whatever brings
    // the changes below sooner is the wake-up that crossed from A through Postgres.
    let idle_from = b_changes.looks();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle_looks = b_changes.looks() - idle_from;
    assert!(
        idle_looks <= 1,
        "B's waiting pull looked {idle_looks} times in 1.5 s idle"
    );

    // Five changes through A, each seen by the till waiting on B.
    let mut took = Vec::new();
    for i in 0..5 {
        let c = stub(&on_a.device, "Salim", &format!("9212340{i}"));
        let started = Instant::now();
        while on_b.device.customer(c.id).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "change {i} never reached the till on B"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        took.push(started.elapsed());
    }
    took.sort();
    let median = took[took.len() / 2];
    assert!(
        median < Duration::from_secs(1) && took[took.len() - 1] < Duration::from_secs(4),
        "propagation A -> B: {took:?}"
    );

    // B stops mid-test; the balancer sends its tills to A. Both tills keep writing meanwhile.
    let _ = stop_b.send(());
    balancer.fail_over(addr(&app.base));
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(stub(&on_b.device, "Huda", &format!("9312340{i}")).id);
        made.push(stub(&on_a.device, "Aisha", &format!("9412340{i}")).id);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // After B is gone, new connections through the balancer reach A only.
    assert!(
        reqwest::get(format!("{b_base}/healthz")).await.is_err(),
        "instance B still answers"
    );
    wait_until_synced(&mut engine_b.status(), Duration::from_secs(30)).await;
    wait_until_synced(&mut engine_a.status(), Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let server = server_view(&app, tenant.0).await;
        let (a, b) = (device_view(&on_a.device), device_view(&on_b.device));
        if a == server && b == server {
            assert_eq!(server.len(), 15);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged: A {:?} B {:?}",
            difference(&server, &a),
            difference(&server, &b)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in made {
        assert!(on_a.device.customer(id).is_ok() && on_b.device.customer(id).is_ok());
    }
    engine_a.stop().await;
    engine_b.stop().await;
}
