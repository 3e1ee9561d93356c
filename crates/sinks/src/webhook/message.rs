//! Request bodies of the webhook formats: the alert as it is, a Slack
//! message, and a Microsoft Teams Adaptive Card.

use serde_json::{Value, json};

use crate::config::{Severity, WebhookFormat};
use crate::view::AlertView;

/// Slack limits the text of a header block to 150 characters.
const SLACK_HEADER_CHARS: usize = 150;
/// Slack limits the text of a section field to 2,000 characters.
const SLACK_FIELD_CHARS: usize = 2000;
/// Slack limits the text of a section to 3,000 characters.
const SLACK_SECTION_CHARS: usize = 3000;
/// Evidence lines longer than this are cut in chat messages; the full
/// line stays in the alert document.
const EVIDENCE_CHARS: usize = 1500;

/// Returns the request body of `alert` in `format`.
pub(crate) fn body(format: WebhookFormat, alert: &Value) -> Value {
    match format {
        WebhookFormat::Generic => alert.clone(),
        WebhookFormat::Slack => slack(alert),
        WebhookFormat::Teams => teams(alert),
    }
}

fn footer(view: &AlertView<'_>) -> String {
    let mut parts = vec![format!(
        "iocwatch alert {}",
        view.alert_id.unwrap_or("without id")
    )];
    if let Some(log) = view.log_line() {
        parts.push(log);
    }
    parts.join(" | ")
}

fn slack(alert: &Value) -> Value {
    let view = AlertView::new(alert);
    let title = view.title();
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&format!("IOC match: {title}"), SLACK_HEADER_CHARS)},
    })];
    let fields: Vec<Value> = view
        .facts()
        .into_iter()
        .map(|(label, value)| {
            json!({
                "type": "mrkdwn",
                "text": cut(&format!("*{label}*\n{}", slack_escape(&value)), SLACK_FIELD_CHARS),
            })
        })
        .collect();
    blocks.push(json!({"type": "section", "fields": fields}));

    let intelligence = view.intelligence_lines();
    if !intelligence.is_empty() {
        blocks.push(slack_section(
            "What the intelligence says",
            &bullets(&intelligence),
        ));
    }
    if !view.next_steps.is_empty() {
        let steps: Vec<String> = view.next_steps.iter().map(|s| (*s).to_owned()).collect();
        blocks.push(slack_section("Next steps", &bullets(&steps)));
    }
    if let Some(original) = view.original {
        let evidence = cut(original, EVIDENCE_CHARS).replace("```", "` ` `");
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": cut(&format!("*Evidence*\n```{}```", slack_escape(&evidence)), SLACK_SECTION_CHARS)},
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": slack_escape(&footer(&view))}],
    }));
    json!({"text": slack_escape(&format!("IOC match: {title}")), "blocks": blocks})
}

fn slack_section(heading: &str, text: &str) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": cut(&format!("*{heading}*\n{}", slack_escape(text)), SLACK_SECTION_CHARS)},
    })
}

/// Escapes the three characters that Slack's mrkdwn reserves for links
/// and mentions.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn bullets(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| format!("• {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn teams(alert: &Value) -> Value {
    let view = AlertView::new(alert);
    let color = match view.severity {
        Some(Severity::High | Severity::Critical) => "Attention",
        Some(Severity::Medium) | None => "Warning",
        Some(Severity::Low) => "Default",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": format!("IOC match: {}", view.title()),
        "size": "Large",
        "weight": "Bolder",
        "color": color,
        "wrap": true,
    })];
    let facts: Vec<Value> = view
        .facts()
        .into_iter()
        .map(|(label, value)| json!({"title": label, "value": value}))
        .collect();
    body.push(json!({"type": "FactSet", "facts": facts}));

    let intelligence = view.intelligence_lines();
    if !intelligence.is_empty() {
        body.push(teams_heading("What the intelligence says"));
        body.extend(intelligence.iter().map(|line| teams_text(line)));
    }
    if !view.next_steps.is_empty() {
        body.push(teams_heading("Next steps"));
        body.extend(
            view.next_steps
                .iter()
                .enumerate()
                .map(|(index, step)| teams_text(&format!("{}. {step}", index + 1))),
        );
    }
    if let Some(original) = view.original {
        body.push(teams_heading("Evidence"));
        body.push(json!({
            "type": "TextBlock",
            "text": cut(original, EVIDENCE_CHARS),
            "fontType": "Monospace",
            "size": "Small",
            "wrap": true,
        }));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": footer(&view),
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
        "spacing": "Medium",
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
            },
        }],
    })
}

fn teams_heading(text: &str) -> Value {
    json!({"type": "TextBlock", "text": text, "weight": "Bolder", "spacing": "Medium", "wrap": true})
}

fn teams_text(text: &str) -> Value {
    json!({"type": "TextBlock", "text": text, "wrap": true, "spacing": "Small"})
}

/// Cuts `text` to at most `max_chars` characters, ending a cut text with
/// an ellipsis.
fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((end, _)) if text[end..].chars().nth(1).is_some() => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cut_keeps_short_text() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abc", 10), "abc");
    }

    #[test]
    fn cut_marks_long_text() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcdef", 4).chars().count(), 4);
        assert_eq!(cut("ééééé", 3), "éé…");
    }
}
