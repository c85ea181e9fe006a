//! What the last step of a [`Bench`] did: its batches and actions, the
//! prompts played, the log entries, notices, the app's reply, the bolt
//! driven, the changes persisted, the module commands, and a description of
//! it all for failure messages.

use super::*;

impl Bench {
    /// The batches of the last step.
    pub fn batches(&self) -> &[Batch] {
        &self.step
    }

    /// Every action of the last step, in order.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.step.iter().flat_map(|b| b.actions.iter())
    }

    pub fn saw(&self, pred: impl Fn(&Action) -> bool) -> bool {
        self.actions().any(pred)
    }

    pub fn prompts(&self) -> Vec<Prompt> {
        self.actions()
            .filter_map(|a| match a {
                Action::Prompt(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    pub fn prompted(&self, prompt: Prompt) -> bool {
        self.prompts().contains(&prompt)
    }

    /// Log entries written by the last step.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.actions()
            .filter_map(|a| match a {
                Action::Log(r) => Some(r.entry),
                _ => None,
            })
            .collect()
    }

    /// Whether the last step logged an entry of this kind (SPEC §8 names).
    pub fn logged(&self, kind: &str) -> bool {
        self.logs().iter().any(|e| e.kind_name() == kind)
    }

    pub fn notified(&self, notice: Notice) -> bool {
        self.saw(|a| matches!(a, Action::Notify(x) if *x == notice))
    }

    /// The last reply of the last step.
    pub fn reply(&self) -> Option<Reply> {
        self.actions()
            .filter_map(|a| match a {
                Action::Reply(r) => Some(*r),
                _ => None,
            })
            .last()
    }

    /// Whether the last step drove the bolt towards `to`.
    pub fn drove(&self, to: BoltPosition) -> bool {
        self.saw(|a| matches!(a, Action::DriveBolt { to: t, .. } if *t == to))
    }

    pub fn persisted(&self, pred: impl Fn(&Change) -> bool) -> bool {
        self.saw(|a| matches!(a, Action::Persist(c) if pred(c)))
    }

    pub fn module_commands(&self) -> Vec<ModuleCommand> {
        self.actions()
            .filter_map(|a| match a {
                Action::Module(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// The last step, readable, for assertion messages.
    pub fn describe(&self) -> String {
        let mut s = format!("at {}:\n", self.now);
        for batch in &self.step {
            let _ = writeln!(s, "  {:?}", batch.event);
            for a in &batch.actions {
                let _ = writeln!(s, "      -> {a:?}");
            }
        }
        s
    }
}
