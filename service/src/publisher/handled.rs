//! The update state of the updates the stream has handled, to save in the session file.
//!
//! grammers' own `sync_update_state` saves its message boxes as they are, and they run
//! ahead of the stream: a batch of updates (a socket push of several, a page of a channel's
//! difference) is applied to them at once, then handed out one by one. Saving that state
//! and being killed before the rest of the batch reached the outbox would make the restart
//! skip the rest. So the stream keeps, per message box, the pts of the last update whose
//! events are in the outbox, and saves only that: a restart asks Telegram for everything
//! after it, and replays at most what was handled since the last save, which the outbox's
//! `seen` table drops.
//!
//! A message box seen for the first time (a channel joined while streaming) is saved at
//! once: until its pts is on disk, a restart would not know to ask for what it missed.

use std::collections::{HashMap, HashSet};

use grammers_client::session::types::UpdateState;
use grammers_client::session::updates::{MessageBox, State};

/// The handled state not yet saved, and which message boxes were ever saved.
#[derive(Debug, Default)]
pub(crate) struct HandledState {
    /// pts, date, seq of the account-wide box.
    primary: Option<(i32, i32, i32)>,
    secondary: Option<i32>,
    channels: HashMap<i64, i32>,
    saved_primary: bool,
    saved_secondary: bool,
    saved_channels: HashSet<i64>,
}

impl HandledState {
    /// Records that the update `state` came with is handled. Says whether it opened a
    /// message box never saved before, which should be saved now.
    pub fn handled(&mut self, state: &State) -> bool {
        match state.message_box {
            Some(MessageBox::Common { pts }) => {
                self.primary = Some((pts, state.date, state.seq));
                !self.saved_primary
            }
            Some(MessageBox::Secondary { qts }) => {
                self.secondary = Some(qts);
                !self.saved_secondary
            }
            Some(MessageBox::Channel { channel_id, pts }) => {
                self.channels.insert(channel_id, pts);
                !self.saved_channels.contains(&channel_id)
            }
            // Updates outside any message box need no state.
            None => false,
        }
    }

    /// Whether something handled is not saved yet.
    pub fn is_dirty(&self) -> bool {
        self.primary.is_some() || self.secondary.is_some() || !self.channels.is_empty()
    }

    /// The changes to save, marking them saved (a failed save is retried by the next
    /// update's, which carries a newer pts anyway).
    pub fn take(&mut self) -> Vec<UpdateState> {
        let mut changes = Vec::new();
        if let Some((pts, date, seq)) = self.primary.take() {
            self.saved_primary = true;
            changes.push(UpdateState::Primary { pts, date, seq });
        }
        if let Some(qts) = self.secondary.take() {
            self.saved_secondary = true;
            changes.push(UpdateState::Secondary { qts });
        }
        for (id, pts) in self.channels.drain() {
            self.saved_channels.insert(id);
            changes.push(UpdateState::Channel { id, pts });
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// grammers' `UpdateState` is neither `Debug` nor `PartialEq`: compare plain tuples.
    fn plain(changes: Vec<UpdateState>) -> Vec<(&'static str, i64, i32, i32, i32)> {
        let mut plain: Vec<_> = changes
            .into_iter()
            .map(|change| match change {
                UpdateState::All(_) => ("all", 0, 0, 0, 0),
                UpdateState::Primary { pts, date, seq } => ("primary", 0, pts, date, seq),
                UpdateState::Secondary { qts } => ("secondary", 0, qts, 0, 0),
                UpdateState::Channel { id, pts } => ("channel", id, pts, 0, 0),
            })
            .collect();
        plain.sort();
        plain
    }

    fn state(message_box: Option<MessageBox>) -> State {
        State {
            date: 1_700_000_000,
            seq: 7,
            message_box,
        }
    }

    fn channel(channel_id: i64, pts: i32) -> State {
        state(Some(MessageBox::Channel { channel_id, pts }))
    }

    #[test]
    fn a_new_channel_asks_to_be_saved_at_once_and_then_only_its_latest_pts_is_saved() {
        let mut handled = HandledState::default();
        assert!(handled.handled(&channel(100, 5)), "a new box");
        assert_eq!(plain(handled.take()), vec![("channel", 100, 5, 0, 0)]);
        assert!(!handled.is_dirty());
        assert!(!handled.handled(&channel(100, 6)), "known now");
        assert!(!handled.handled(&channel(100, 7)));
        assert!(handled.handled(&channel(200, 1)), "another new box");
        assert_eq!(
            plain(handled.take()),
            vec![("channel", 100, 7, 0, 0), ("channel", 200, 1, 0, 0)]
        );
    }

    #[test]
    fn the_account_boxes_carry_date_and_seq_and_boxless_updates_change_nothing() {
        let mut handled = HandledState::default();
        assert!(!handled.handled(&state(None)));
        assert!(!handled.is_dirty());
        assert!(handled.handled(&state(Some(MessageBox::Common { pts: 40 }))));
        assert!(handled.handled(&state(Some(MessageBox::Secondary { qts: 3 }))));
        assert_eq!(
            plain(handled.take()),
            vec![
                ("primary", 0, 40, 1_700_000_000, 7),
                ("secondary", 0, 3, 0, 0)
            ]
        );
        assert!(!handled.handled(&state(Some(MessageBox::Common { pts: 41 }))));
    }
}
