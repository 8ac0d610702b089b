# tcpgoon as a container image: a static binary in an empty image (FROM scratch, as the Go
# project shipped). The binary links glibc statically (no libc, no /etc needed in the image);
# names resolve from the /etc/hosts and /etc/resolv.conf the container runtime injects, which is
# how Kubernetes service names reach it. The same build is made and checked by .ci/run
# (tests/container.rs runs it in an empty chroot).
#
#   docker build -t tcpgoon .
#   docker run --rm tcpgoon run -y -c 1000 --hold 30s my-service 8080

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The build's hash and time come from build.rs (git is absent in the context: "unknown").
RUN RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && strip target/x86_64-unknown-linux-gnu/release/tcpgoon \
 && mkdir -p /out/tmp \
 && cp target/x86_64-unknown-linux-gnu/release/tcpgoon /out/tcpgoon

FROM scratch
COPY --from=build /out/ /
# Reports written with --export-* need a writable directory; /tmp is one.
WORKDIR /tmp
ENTRYPOINT ["/tcpgoon"]
CMD ["--help"]
