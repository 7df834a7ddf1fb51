//! The Web API client against a scripted HTTP server on loopback: what is retried, after how
//! long, and what is refused at once.

use std::{sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
    sync::Mutex,
};

use super::*;

/// One scripted answer: status, extra headers, body.
type Answer = (u16, &'static str, &'static str);

/// Serves `answers` in order, one per connection, recording each request's head and body.
async fn server(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new(); // connections left unanswered, kept open
        for (status, headers, body) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0; 65536];
            let mut read = 0;
            loop {
                let n = socket.read(&mut buf[read..]).await.unwrap();
                read += n;
                let text = String::from_utf8_lossy(&buf[..read]).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if read >= head_end + 4 + length || n == 0 {
                        log.lock().await.push(text);
                        break;
                    }
                }
            }
            if status == 0 {
                held.push(socket); // never answers
                continue;
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (url, seen)
}

fn api(url: &str) -> WebApi {
    WebApi::new(
        url,
        "xoxb-test",
        WebApiTimeouts {
            attempt: Duration::from_millis(500),
            operation: Duration::from_secs(4),
        },
    )
    .unwrap()
}

#[tokio::test]
async fn ratelimited_is_tried_again_after_retry_after_and_a_5xx_after_a_pause() {
    let (url, seen) = server(vec![
        (
            429,
            "retry-after: 1\r\n",
            r#"{"ok":false,"error":"ratelimited"}"#,
        ),
        (503, "", "unavailable"),
        (200, "", r#"{"ok":true,"channel":"D1","ts":"1.2"}"#),
    ])
    .await;
    let started = std::time::Instant::now();
    let answer = api(&url)
        .call(
            "chat.postMessage",
            Body::Json(serde_json::json!({"channel": "U1", "text": "hi"})),
        )
        .await
        .unwrap();
    assert_eq!(answer["ts"], "1.2");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as Retry-After asked"
    );
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].starts_with("POST /api/chat.postMessage HTTP/1.1"),
        "{}",
        seen[0]
    );
    assert!(
        seen[0]
            .to_ascii_lowercase()
            .contains("authorization: bearer xoxb-test")
    );
    assert!(seen[0].contains(r#"{"channel":"U1","text":"hi"}"#));
}

#[tokio::test]
async fn a_refusal_is_slacks_code_at_once_and_a_form_is_sent_as_one() {
    let (url, seen) = server(vec![(200, "", r#"{"ok":false,"error":"invalid_auth"}"#)]).await;
    let err = api(&url)
        .call(
            "users.lookupByEmail",
            Body::Form(vec![("email", "a+b@example.com".into())]),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SlackError::Refused {
            method: "users.lookupByEmail",
            code: "invalid_auth".into()
        }
    );
    let seen = seen.lock().await;
    assert_eq!(seen.len(), 1, "not retried");
    assert!(seen[0].contains("application/x-www-form-urlencoded"));
    assert!(
        seen[0].ends_with("email=a%2Bb%40example.com"),
        "{}",
        seen[0]
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_the_budget_gives_up_at_once_as_unavailable() {
    let (url, _) = server(vec![(
        429,
        "retry-after: 30\r\n",
        r#"{"ok":false,"error":"ratelimited"}"#,
    )])
    .await;
    let started = std::time::Instant::now();
    let err = api(&url)
        .call("chat.update", Body::Json(serde_json::json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, SlackError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("ratelimited"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_attempt_that_hangs_is_abandoned_and_tried_again() {
    let (url, seen) = server(vec![
        (0, "", ""),
        (200, "", r#"{"ok":false,"error":"internal_error"}"#),
        (200, "", r#"{"ok":true,"view":{"id":"V1"}}"#),
    ])
    .await;
    let answer = api(&url)
        .call("views.open", Body::Json(serde_json::json!({})))
        .await
        .unwrap();
    assert_eq!(answer["view"]["id"], "V1");
    assert_eq!(seen.lock().await.len(), 3);
}

#[test]
fn the_base_url_is_https_or_a_loopback_emulator() {
    assert_eq!(
        check_base_url("https://slack.com/api/").unwrap(),
        "https://slack.com/api"
    );
    assert!(check_base_url("http://127.0.0.1:5006/api").is_ok());
    assert!(check_base_url("http://localhost:1/api").is_ok());
    for bad in [
        "http://slack.com/api",
        "ftp://127.0.0.1/",
        "slack.com/api",
        "",
    ] {
        assert!(check_base_url(bad).is_err(), "{bad}");
    }
}
