//! The test broker: the RabbitMQ `./test.sh` makes sure of on 127.0.0.1:5672, and an
//! exchange of each test's own, so tests running at once never see each other's messages.

use std::net::SocketAddr;

/// The broker the tests use (`TGC_TEST_AMQP_URL` overrides).
pub fn amqp_url() -> String {
    std::env::var("TGC_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// The test broker's address (from [`amqp_url`]), for a proxy before it.
pub fn broker_addr() -> SocketAddr {
    let url = amqp_url();
    let host_port = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5672");
    host_port
        .parse()
        .expect("the test broker URL names host:port")
}

/// An exchange name no other test uses: the test's name, the process and a nonce.
pub fn exchange(test: &str) -> String {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tgc.test.{test}.{}.{nonce}", std::process::id())
}

/// Deletes an exchange of the test broker (best effort: a leftover is harmless).
pub async fn delete_exchange(exchange: &str) {
    use tgc_service::publisher::lapin::options::ExchangeDeleteOptions;
    use tgc_service::publisher::lapin::{Connection, ConnectionProperties};
    let Ok(connection) = Connection::connect(&amqp_url(), ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        let _ = channel
            .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
            .await;
    }
    let _ = connection.close(200, "test done".into()).await;
}
