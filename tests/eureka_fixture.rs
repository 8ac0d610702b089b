//! A fixture Eureka registry for the tests: it behaves as the Netflix and Spring Cloud servers
//! do, and real Eureka clients check that it does.
