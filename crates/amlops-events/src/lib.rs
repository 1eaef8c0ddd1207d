//! Lifecycle events as CloudEvents: build summary, audit trail, Teams, Slack, webhooks, Event Grid.
