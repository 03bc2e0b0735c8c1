//! The node's own integration tests: storage (module `store`).

mod store;
