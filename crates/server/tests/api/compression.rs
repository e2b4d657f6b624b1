//! Responses are compressed for clients that accept it (zstd or gzip): a till's first sync of a
//! shop is repeated JSON keys and names, and compressed it is a fraction of the bytes.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::StatusCode;

/// A client that leaves the body as it came over the wire.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_zstd()
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_pull_is_sent_compressed_to_a_till_that_accepts_it_at_less_than_half_the_bytes() {
    let app = TestApp::spawn_with_limits(dukkan_server::limits::LimitConfig::unlimited()).await;
    let (_, token) = app.tenant_with("shop", Role::Manager).await;
    for i in 0..300 {
        app.stub(&token, &format!("Mohammed {i}"), &format!("92{:06}", i))
            .await;
    }
    let device = app.device_token("shop").await;
    let url = format!("{}/api/v1/sync/pull?since=0&limit=500", app.base);
    let fetch = |encoding: &'static str| {
        let req = raw_client()
            .get(&url)
            .bearer_auth(&device)
            .header("accept-encoding", encoding);
        async move {
            let resp = req.send().await.expect("pull");
            assert_eq!(resp.status(), StatusCode::OK);
            let coding = resp
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            (coding, resp.bytes().await.expect("body").len())
        }
    };
    let (coding, plain) = fetch("identity").await;
    assert_eq!(coding, None);
    for encoding in ["zstd", "gzip"] {
        let (coding, compressed) = fetch(encoding).await;
        assert_eq!(coding.as_deref(), Some(encoding));
        assert!(
            compressed * 2 <= plain,
            "{encoding}: {compressed} bytes against {plain} plain"
        );
    }
    // What the till reads, decompressed, is the same page.
    let decoded: serde_json::Value = app
        .client
        .get(&url)
        .bearer_auth(&device)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let identity: serde_json::Value = raw_client()
        .get(&url)
        .bearer_auth(&device)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(decoded["changes"].as_array().map(Vec::len), Some(300));
    assert_eq!(decoded, identity);
}
