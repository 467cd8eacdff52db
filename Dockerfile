# xlat images for container registries, built with docker buildx from the
# static binaries of container/build.sh: no compiler, no shell, nothing in
# the image but the role's binary, which is the entrypoint, with `run` (the
# daemon) as the default command. RouterOS users do not need this:
# container/build.sh also writes the tars that `/container/add file=...`
# imports (see container/README.md).
#
#   container/build.sh --arch all
#   docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v5 \
#       --target clat -t registry.example/xlat:0.1.0 --push target/images/rootfs
#   docker buildx build --platform linux/amd64,linux/arm64 \
#       --target plat -t registry.example/xlat-plat:0.1.0 --push target/images/rootfs
#
# Run from the repository root with -f Dockerfile (or `-f -`): the build
# context is target/images/rootfs, whose directories are named like buildx's
# ${TARGETARCH}${TARGETVARIANT}: amd64, arm64, armv7, armv5. Without buildx
# (one architecture): DOCKER_BUILDKIT=0 docker build --build-arg
# TARGETARCH=amd64 --target clat -f Dockerfile target/images/rootfs

# The provider side: stateful NAT64 (RFC 6146) as the 464XLAT PLAT.
FROM scratch AS plat
ARG TARGETARCH
ARG TARGETVARIANT
COPY ${TARGETARCH}${TARGETVARIANT}/plat /plat
LABEL org.opencontainers.image.title="xlat-plat" \
      org.opencontainers.image.description="464XLAT PLAT (stateful NAT64) for RouterOS containers" \
      org.opencontainers.image.licenses="Apache-2.0 OR MIT"
ENTRYPOINT ["/plat"]
CMD ["run"]

# The customer side (RFC 6877 CLAT); the last stage, so the default target.
FROM scratch AS clat
ARG TARGETARCH
ARG TARGETVARIANT
COPY ${TARGETARCH}${TARGETVARIANT}/clat /clat
LABEL org.opencontainers.image.title="xlat" \
      org.opencontainers.image.description="464XLAT CLAT for RouterOS containers" \
      org.opencontainers.image.licenses="Apache-2.0 OR MIT"
ENTRYPOINT ["/clat"]
CMD ["run"]
