//! API v1: one handler per method (docs/design.md §2), and [`routes`], the table that names them.
//!
//! Each file holds one method: its parameters, the Telegram calls it makes through the pool,
//! and the shape of its reply. What several methods share (which kind of peer a chat is, how
//! a page of messages is parsed) is in `peer` and `page`.

mod accounts;
mod chat;
mod history;
mod join;
mod leave;
mod media;
mod messages;
mod page;
mod peer;
mod resolve;
mod search;
mod similar;
mod subscriptions;

use super::route::{RouteError, Routes};

/// The route table of API v1: one row per method.
pub fn routes() -> Result<Routes, RouteError> {
    Routes::new()
        .add("resolve", resolve::Resolve)?
        .add("chat", chat::Chat)?
        .add("history", history::History)?
        .add("messages", messages::Messages)?
        .add("search", search::Search)?
        .add("similar", similar::Similar)?
        .add("join", join::Join)?
        .add("leave", leave::Leave)?
        .add("subscriptions", subscriptions::Subscriptions)?
        .add("media", media::Media)?
        .add("accounts", accounts::Accounts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_method_of_design_section_2_has_a_route() {
        let routes = super::routes().unwrap();
        for method in [
            "resolve",
            "chat",
            "history",
            "messages",
            "search",
            "similar",
            "join",
            "leave",
            "subscriptions",
            "media",
            "accounts",
        ] {
            assert!(
                routes.find(&format!("/api/v1/{method}")).is_some(),
                "{method}"
            );
        }
    }
}
