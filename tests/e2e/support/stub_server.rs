//! A stand-in for a remote HTTP service in a test (an ad server, a beacon receiver): a router
//! served on a free port, on a runtime and thread of its own, for the rest of the test process.

use std::net::SocketAddr;

/// Serves `router` on `127.0.0.1:0` from now on; returns where.
pub fn serve_router(router: axum::Router) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the stub server");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free port for the stub server");
            sender
                .send(listener.local_addr().expect("the stub server's address"))
                .expect("the test waits for the address");
            axum::serve(listener, router)
                .await
                .expect("the stub server serves");
        });
    });
    receiver.recv().expect("the stub server started")
}
