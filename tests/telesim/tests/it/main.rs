//! telesim's tests, as one test binary (one link instead of one per file): the world model and its
//! API semantics, and real clients against the served datacenter (grammers in-process, the
//! `telesim` binary, and Telethon through the Python cross-check).

mod world_support;

mod grammers_binary;
mod grammers_chats;
mod grammers_faults;
mod grammers_history;
mod grammers_login;
mod grammers_media;
mod grammers_protocol;
mod grammers_robustness;
mod grammers_updates;
mod telethon;
mod world_api;
mod world_live;
mod world_login;
mod world_model;
