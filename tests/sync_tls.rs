//! A till talks only to a server whose certificate it trusts: the system's roots, or the
//! certificate authority of a shop that runs its own (the PEM file `DUKKAN_SERVER_CA` names).
//! The real tenant server on 127.0.0.1 behind a real TLS front (as a load balancer terminates
//! TLS), a CA and a server certificate made at run time, a real device on its own store.
//!
//! One test in its own binary: the CA file is an environment variable of the process.

#![allow(clippy::unwrap_used)]

#[path = "../crates/server/tests/support/mod.rs"]
mod support;

#[path = "common/mod.rs"]
mod common;

use common::{sign_in_manager, stub, test_engine_config, wait_until_synced};
use dukkan_device::engine::{self, SERVER_CA_ENV};
use dukkan_device::{Device, DeviceError};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::TestApp;
use tokio::net::{TcpListener, TcpStream};

/// A certificate authority of its own, as a shop's IT would make one.
fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// The server's certificate for `localhost`, signed by `ca`.
fn server_certificate(
    ca: &CertifiedIssuer<'static, KeyPair>,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, ca).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

/// Terminates TLS with `cert` on a port of 127.0.0.1 and passes the bytes to `upstream`.
async fn tls_front(
    upstream: SocketAddr,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut up) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                }
            });
        }
    });
    addr
}

fn use_ca_file(path: Option<&Path>) {
    match path {
        Some(p) => std::env::set_var(SERVER_CA_ENV, p),
        None => std::env::remove_var(SERVER_CA_ENV),
    }
}

async fn enroll(app: &TestApp, device: &Device, url: &str) -> Result<(), DeviceError> {
    let code = dukkan_server::devices::create_code(&app.owner, "shop", None)
        .await
        .unwrap();
    engine::enroll(device, url, "shop", &code.code, Some("till")).await
}

#[tokio::test]
async fn a_till_enrolls_and_syncs_only_with_a_server_whose_certificate_it_trusts_and_says_so_otherwise(
) {
    let app = TestApp::spawn().await;
    let tenant = app.tenant("shop").await;
    let shop_ca = authority("Shop CA");
    let (cert, key) = server_certificate(&shop_ca);
    let upstream: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let front = tls_front(upstream, cert, key).await;
    let url = format!("https://localhost:{}", front.port());

    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let right_ca = write("shop-ca.pem", &shop_ca.pem());
    let stranger_ca = write("other-ca.pem", &authority("Another CA").pem());
    let garbage = write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n",
    );
    let empty = write("empty.pem", "");
    let huge = write("huge.pem", &"A".repeat((1 << 20) + 10));
    let missing = files.path().join("no-such-file.pem");

    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(Device::open(dir.path().join("d.sqlite3")).unwrap());

    // The system's roots do not know the shop's CA, nor does another authority: refused as
    // untrusted (not "unreachable"), and nothing is stored.
    for ca in [None, Some(stranger_ca.as_path())] {
        use_ca_file(ca);
        let e = enroll(&app, &device, &url).await.unwrap_err();
        assert_eq!(e.code(), "device.server-untrusted", "CA file {ca:?}: {e:?}");
        assert!(device.enrollment().unwrap().is_none());
    }
    // A CA file that is set but unusable is an error of its own, never silently ignored.
    for bad in [&garbage, &empty, &huge, &missing] {
        use_ca_file(Some(bad));
        let e = enroll(&app, &device, &url).await.unwrap_err();
        assert_eq!(e.code(), "device.server-ca-invalid", "{bad:?}: {e:?}");
        assert!(device.enrollment().unwrap().is_none());
    }
    assert_eq!(
        app.count("SELECT count(*) FROM devices WHERE revoked_at IS NULL")
            .await,
        0,
        "no refused enrollment reached the server"
    );

    // The shop's CA: enrollment and sync over TLS.
    use_ca_file(Some(&right_ca));
    enroll(&app, &device, &url).await.unwrap();
    let (stored_url, token) = device.enrollment().unwrap().unwrap();
    assert_eq!(stored_url, url);
    sign_in_manager(&app, "shop", &device).await;
    let c = stub(&device, "Aisha", "+96892123456");
    let handle = engine::spawn(device.clone(), test_engine_config(&url, &token)).unwrap();
    let mut status = handle.status();
    wait_until_synced(&mut status, Duration::from_secs(20)).await;
    let on_server = app
        .count(&format!(
            "SELECT count(*) FROM customers WHERE tenant_id = '{}' AND id = '{}'",
            tenant.0, c.id
        ))
        .await;
    assert_eq!(on_server, 1, "the stub reached the server over TLS");
    handle.stop().await;

    // The same till without the shop's CA: its engine reports the untrusted certificate, and
    // the change waits on the till.
    use_ca_file(None);
    stub(&device, "Salim", "+96892123457");
    let handle = engine::spawn(device.clone(), test_engine_config(&url, &token)).unwrap();
    let mut status = handle.status();
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if status.borrow().last_error.as_deref() == Some("untrusted") {
                break;
            }
            status.changed().await.unwrap();
        }
    })
    .await;
    assert!(seen.is_ok(), "status: {:?}", *status.borrow());
    assert!(!status.borrow().online);
    assert_eq!(device.sync_status().unwrap().pending, 1);
    handle.stop().await;
}
