//! Eureka discovery against a fixture registry that behaves as the real servers do (its
//! fidelity checked with real Eureka clients), and runs against the instances it lists.
