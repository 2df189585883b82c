//! A bot that answers `!ping` with `pong`, quoting the message.
//! `cargo run -p sogs-client --example ping_bot -- 'https://host/room?public_key=…'`
//! (the identity comes from `sogs-client id new`, in ~/.config/sogs-client/identity.json).
use sogs_client::{
    community::Community,
    identity::Identity,
    poller::{Event, Poller},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let home = std::env::var("HOME")? + "/.config/sogs-client/identity.json";
    let me = Identity::from_file_json(&std::fs::read_to_string(home)?)?;
    let url = std::env::args().nth(1).ok_or("usage: ping_bot JOIN_URL")?;
    let (mut community, room) = Community::join_url(&url, me).await?;
    community.skip_history(&room).await?; // answer only what is posted from now on
    let mut poller = Poller::new(community);
    loop {
        match poller.next_event().await {
            Ok(Event::NewMessage(m)) if m.text() == "!ping" && m.author != poller.my_id() => {
                poller.community().reply(&room, &m, "pong").await?;
            }
            Err(e) => eprintln!("poll failed: {e}"),
            _ => {}
        }
    }
}
