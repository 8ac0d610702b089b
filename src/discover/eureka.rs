//! Eureka discovery: the instances a Netflix or Spring Cloud Eureka registry lists for an
//! application, fetched once, blocking, before the run (never inside the engine).
