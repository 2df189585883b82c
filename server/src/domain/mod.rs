//! Protocol logic that needs neither HTTP nor SQL: permissions, tokens, and the JSON shapes
//! of rooms and messages.

pub mod confusables;
pub mod filter;
pub mod message;
pub mod moderation;
pub mod perms;
pub mod room;
pub mod token;
