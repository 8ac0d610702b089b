//! Integration tests: the built binary against servers on loopback (and in network namespaces
//! the tests create and delete). One test binary, one module per topic; helpers in `util`.

mod util;

mod architecture;
mod checks;
mod cli;
mod container;
mod defects;
mod defects7;
mod distributed;
mod engine;
mod eureka;
mod eureka_fixture;
mod export;
mod html;
mod junit;
mod kubernetes;
mod lb;
mod limit;
mod netns;
mod outputs;
mod progress;
mod prompt;
mod run;
mod scale;
mod server;
mod targets;
mod verdict;
mod workers;
