//! Tokens: client credentials, expiry, and the bearer check.

use super::support::*;
use serde_json::Value;
use zd2gc::emulator::Faults;

#[tokio::test]
async fn token_needs_the_client_credentials() {
    let e = quiet_env().await;
    let r = e
        .http
        .post(e.url("/oauth/token"))
        .basic_auth("test-client", Some("test-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("inin-correlation-id"));
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 86_400);

    let r = e
        .http
        .post(e.url("/oauth/token"))
        .basic_auth("test-client", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    let r = e
        .http
        .post(e.url("/oauth/token"))
        .basic_auth("test-client", Some("test-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

#[tokio::test]
async fn api_calls_need_a_valid_bearer_token() {
    let e = quiet_env().await;
    let path = e.url(&format!("{WFM}/businessunits/{BU}"));
    assert_error(
        e.http.get(&path).send().await.unwrap(),
        401,
        "authentication.required",
    )
    .await;
    assert_error(
        e.http
            .get(&path)
            .bearer_auth("forged")
            .send()
            .await
            .unwrap(),
        401,
        "bad.credentials",
    )
    .await;
    assert_eq!(
        e.get(&format!("{WFM}/businessunits/{BU}")).await.status(),
        200
    );
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let e = manual_env(Faults {
        token_lifetime_secs: 1,
        ..Faults::default()
    })
    .await;
    let path = format!("{WFM}/businessunits/{BU}");
    assert_eq!(e.get(&path).await.status(), 200);
    e.advance(999);
    assert_eq!(e.get(&path).await.status(), 200, "still valid");
    e.advance(1);
    assert_error(e.get(&path).await, 401, "authentication.required").await;
    let fresh = e.new_token().await;
    let r = e
        .http
        .get(e.url(&path))
        .bearer_auth(fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
