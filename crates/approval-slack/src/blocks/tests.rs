use approval_domain::{Via, memory::fixtures};

use super::*;

fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push(text.clone());
            }
            map.values().for_each(|v| texts(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        _ => {}
    }
}

fn all_text(blocks: &Value) -> String {
    let mut out = Vec::new();
    texts(blocks, &mut out);
    out.join("\n")
}

#[test]
fn an_open_request_has_two_buttons_that_name_only_the_request_and_the_action() {
    let (request, credentials) = ApprovalRequest::open(fixtures::new_request(3, 2));
    let (text, blocks) = message(&request);
    assert!(text.starts_with("Approval requested: "));
    let actions = blocks
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("buttons");
    let values: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            format!("{}:approve", request.request_id),
            format!("{}:reject", request.request_id)
        ]
    );
    assert_eq!(actions["elements"][0]["style"], "primary");
    assert_eq!(actions["elements"][1]["style"], "danger");
    let json = blocks.to_string();
    assert!(!json.contains(request.task_token.expose()), "no task token");
    for pair in &credentials {
        for choice in Choice::ALL {
            assert!(!json.contains(&pair.of(choice).encode()), "no credential");
        }
    }
    let shown = all_text(&blocks);
    assert!(shown.contains("Needs: 2 of 3 approvers"), "{shown}");
    assert!(
        shown.contains("0 of 2 approvals so far; no votes yet."),
        "{shown}"
    );
}

#[test]
fn the_workflows_words_are_plain_text_marked_as_theirs() {
    let mut new = fixtures::new_request(1, 1);
    new.summary = Some("<!channel> *click* <https://evil.example|here>".into());
    let (request, _) = ApprovalRequest::open(new);
    let (_, blocks) = message(&request);
    let blocks = blocks.as_array().unwrap();
    let marked = blocks
        .iter()
        .position(|b| b["type"] == "context")
        .expect("the marker");
    assert!(
        blocks[marked]
            .to_string()
            .contains("its words, not the gate's")
    );
    assert_eq!(blocks[marked + 1]["text"]["type"], "plain_text");
    assert_eq!(blocks[marked + 1]["text"]["emoji"], false);
    for block in blocks {
        if block.to_string().contains("evil.example") {
            assert!(!block.to_string().contains("mrkdwn"), "{block}");
        }
    }
}

#[test]
fn an_ended_request_has_no_buttons_and_says_how_by_whom_when() {
    let (mut request, _) = ApprovalRequest::open(fixtures::new_request(3, 2));
    request
        .cast_via(
            0,
            Choice::Approved,
            "ok".into(),
            Via::Slack,
            fixtures::at(1),
        )
        .unwrap();
    let (_, blocks) = message(&request);
    let shown = all_text(&blocks);
    assert!(shown.contains("1 of 2 approvals so far:"), "{shown}");
    assert!(
        shown.contains("approver0@example.com approved (by slack,"),
        "{shown}"
    );
    request
        .cast(2, Choice::Approved, String::new(), fixtures::at(2))
        .unwrap();
    let (text, blocks) = message(&request);
    assert!(
        !blocks.to_string().contains("\"actions\""),
        "no buttons after the end"
    );
    assert!(
        text.starts_with(
            "Approved by approver0@example.com, approver2@example.com at 2027-01-15T08:00:02Z"
        ),
        "{text}"
    );
}

#[test]
fn the_modal_keeps_the_target_and_asks_an_optional_comment() {
    let (request, _) = ApprovalRequest::open(fixtures::new_request(1, 1));
    let modal = vote_modal(&request, Choice::Rejected);
    assert_eq!(modal["callback_id"], VOTE_CALLBACK_ID);
    assert_eq!(
        modal["private_metadata"],
        format!("{}:reject", request.request_id)
    );
    assert_eq!(modal["submit"]["text"], "Reject");
    let input = modal["blocks"].as_array().unwrap().last().unwrap();
    assert_eq!(input["block_id"], COMMENT_BLOCK_ID);
    assert_eq!(input["optional"], true);
    assert_eq!(input["element"]["max_length"], MAX_COMMENT_CHARS);
    let long = "é".repeat(200);
    assert_eq!(cut(&long, 150).chars().count(), 150);
}
