//! `zd2gc emulate` as a process: the base URL on stdout, the secret in an owner-only file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn emulate_prints_the_base_url_and_keeps_the_secret_off_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org.json");
    std::fs::write(
        &org,
        serde_json::to_vec(&super::support::fixture()).unwrap(),
    )
    .unwrap();
    let secret_file = dir.path().join("secret");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zd2gc"))
        .args([
            "--dir",
            dir.path().to_str().unwrap(),
            "emulate",
            "--org",
            org.to_str().unwrap(),
            "--secret-file",
            secret_file.to_str().unwrap(),
            "--manual-clock",
        ])
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret_file)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let health = http
        .get(format!("{base}/emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let state: serde_json::Value = http
        .get(format!("{base}/emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["users"].as_array().unwrap().len(), 5);
    let clock: serde_json::Value = http
        .post(format!("{base}/emulator/clock"))
        .json(&serde_json::json!({"advanceMs": 1500}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["manual"], true, "--manual-clock: {clock}");
    assert_eq!(clock["elapsedMs"], 1500);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("client id:"), "{stderr}");
    assert!(
        !stderr.contains(secret.trim()),
        "the secret never reaches the terminal"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret.trim()));
}
