//! A gate between devices and the server: a TCP forwarder on a fixed local port that a test
//! opens and closes to take devices offline and online.

use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A TCP forwarder to the server on a fixed local port: closed, the till is offline.
pub struct Gate {
    addr: SocketAddr,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Gate {
    pub fn new(upstream: SocketAddr) -> Gate {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        Gate {
            addr,
            upstream,
            task: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn open(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            // Connections live in the set: closing the gate cuts them too.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    pub async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}
