//! A TCP proxy a test can cut (every open connection closed, new ones refused) and restore:
//! a broker or storage outage on demand, with the real server behind it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The proxy; it forwards to its target until cut.
pub struct Proxy {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
    accepting: Arc<AtomicBool>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("its address");
        let (up, _) = watch::channel(true);
        let accepting = Arc::new(AtomicBool::new(true));
        let proxy = Proxy {
            addr,
            up: up.clone(),
            accepting: Arc::clone(&accepting),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut down = up.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        proxy
    }

    /// `amqp://` to a broker through the proxy.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr)
    }

    pub fn cut(&self) {
        self.accepting.store(false, Ordering::SeqCst);
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
        self.accepting.store(true, Ordering::SeqCst);
    }
}
