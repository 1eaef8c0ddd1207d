//! A `tracing` layer that writes events through the [`Output`] as log decorations, so libraries log with
//! `tracing` and never print.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::output::Output;

/// Turns tracing events into `##[error]`, `##[warning]`, plain lines and `##[debug]` (debug and trace only when
/// system.debug is on, and then only from amlops crates).
#[derive(Debug, Clone)]
pub struct OutputLayer {
    output: Output,
}

impl OutputLayer {
    /// A layer writing to `output`.
    pub fn new(output: Output) -> Self {
        Self { output }
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}

impl<S: Subscriber> Layer<S> for OutputLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let ours = meta.target().starts_with("amlops");
        let level = *meta.level();
        if level > Level::INFO && !(ours && self.output.debug_enabled()) {
            return;
        }
        if level == Level::INFO && !ours {
            // Dependencies' informational chatter stays out of the task log.
            return;
        }
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let text = format!("{}{}", visitor.message, visitor.fields);
        match level {
            Level::ERROR => self.output.error(&text),
            Level::WARN => self.output.warning(&text),
            Level::INFO => self.output.line(&text),
            _ => self.output.debug(&text),
        }
    }
}
