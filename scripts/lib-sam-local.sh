# shellcheck shell=bash
# Set-up for `sam local invoke` of the arm64 functions on an x86_64 machine without a registry
# for container images; source after scripts/lib.sh. Every step is idempotent and fails with a
# message that says why, never silently.
#
#   ensure_docker          Debian's docker.io (dockerd, containerd, runc); dockerd started when
#                          nothing answers on /var/run/docker.sock (no systemd here)
#   ensure_arm64_binfmt    qemu-user-static, binfmt_misc mounted, qemu-aarch64 registered with
#                          the F flag (the interpreter is opened now, so it works in containers)
#   ensure_base_image      approval-gate/provided-al2023:arm64, a stand-in for Lambda's
#                          provided.al2023 arm64 image (public.ecr.aws is out of reach): Debian's
#                          arm64 glibc, libgcc and busybox-static, unpacked into an empty image

SAM_LOCAL_IMAGE="approval-gate/provided-al2023:arm64"
# What `sam local invoke --invoke-image $SAM_LOCAL_IMAGE` builds on top of it (the emulator, RIE).
SAM_LOCAL_RAPID_IMAGE="approval-gate/provided-al2023:rapid-arm64"
SAM_LOCAL_DIR="$CACHE_DIR/sam-local"
DOCKERD_LOG="$SAM_LOCAL_DIR/dockerd.log"

sam_local_fail() {
  log "sam-local: $*"
  exit 1
}

ensure_docker() {
  mkdir -p "$SAM_LOCAL_DIR"
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v containerd >/dev/null 2>&1; then
    [[ $(id -u) == 0 ]] || sam_local_fail "dockerd is not installed and installing it needs root"
    log "installing Debian's docker.io (dockerd, containerd, runc)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  # The docker CLI may be a newer one than Debian's daemon (/usr/local/bin): without the buildx
  # plugin it needs the classic builder.
  export DOCKER_BUILDKIT=0
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  [[ -S /var/run/docker.sock ]] && log "sam-local: /var/run/docker.sock exists but nothing answers; starting dockerd"
  [[ $(id -u) == 0 ]] || sam_local_fail "no Docker daemon answers and starting one needs root"
  log "starting dockerd (log: $DOCKERD_LOG)"
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 < /dev/null &
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  sam_local_fail "dockerd did not answer within 60 s; last lines of $DOCKERD_LOG:
$(tail -20 "$DOCKERD_LOG")"
}

ensure_arm64_binfmt() {
  local qemu=/usr/libexec/qemu-binfmt/aarch64-binfmt-P conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  if [[ ! -x $qemu || ! -f $conf ]]; then
    log "installing Debian's qemu-user-static (runs the arm64 binaries on this x86_64 machine)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
  fi
  local binfmt=/proc/sys/fs/binfmt_misc
  if [[ ! -e $binfmt/register ]]; then
    mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null \
      || sam_local_fail "cannot mount binfmt_misc on $binfmt (a container without the privilege?): arm64 code cannot run here"
  fi
  if [[ ! -e $binfmt/qemu-aarch64 ]]; then
    # Debian's own registration line, flags OPF: F opens the interpreter now, so containers
    # (which have no qemu of their own) can run arm64 binaries too.
    cat "$conf" > "$binfmt/register" || sam_local_fail "registering $conf in $binfmt failed"
  fi
  grep -qx enabled "$binfmt/qemu-aarch64" || sam_local_fail "binfmt entry qemu-aarch64 is disabled ($binfmt/qemu-aarch64)"
  grep -q '^flags: .*F' "$binfmt/qemu-aarch64" \
    || sam_local_fail "binfmt entry qemu-aarch64 lacks the F flag (registered by something else?): containers cannot use it; remove it (echo -1 > $binfmt/qemu-aarch64) and run again"
}

# The base image's recipe; its hash is the image's label, so a change rebuilds it.
SAM_LOCAL_DEBS=(libc6:arm64 libgcc-s1:arm64 busybox-static:arm64)
SAM_LOCAL_DOCKERFILE='FROM scratch
ADD rootfs.tar /
# As in the provided.al2023 image.
ENV LANG=C.UTF-8 TZ=:/etc/localtime \
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin \
    LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/var/rapid/aws-lambda-rie"]'

ensure_base_image() {
  dpkg --print-foreign-architectures | grep -qx arm64 || {
    log "adding dpkg architecture arm64 (the base image is made of Debian's arm64 packages)"
    dpkg --add-architecture arm64
    apt-get update -qq
  }
  local versions want have
  versions="$(for deb in "${SAM_LOCAL_DEBS[@]}"; do
    printf '%s=%s\n' "$deb" "$(apt-cache show --no-all-versions "$deb" 2>/dev/null | sed -n 's/^Version: //p' | head -1)"
  done)"
  if grep -q '=$' <<<"$versions"; then
    apt-get update -qq
    versions="$(for deb in "${SAM_LOCAL_DEBS[@]}"; do
      printf '%s=%s\n' "$deb" "$(apt-cache show --no-all-versions "$deb" | sed -n 's/^Version: //p' | head -1)"
    done)"
  fi
  local ca_bundle=/etc/ssl/certs/ca-certificates.crt
  [[ -s $ca_bundle ]] || sam_local_fail "$ca_bundle is missing (Debian's ca-certificates): the image takes its CA bundle from there"
  want="$(printf '%s\n%s\n%s\n' "$versions" "$SAM_LOCAL_DOCKERFILE" "$(sha256sum < "$ca_bundle")" | sha256sum | cut -c1-16)"
  have="$(docker image inspect -f '{{ index .Config.Labels "approval-gate.recipe" }}' "$SAM_LOCAL_IMAGE" 2>/dev/null || true)"
  if [[ $have == "$want" ]]; then
    return 0
  fi
  log "building $SAM_LOCAL_IMAGE from Debian's arm64 packages ($(tr '\n' ' ' <<<"$versions"))"
  local work="$SAM_LOCAL_DIR/base-image"
  rm -rf "$work" && mkdir -p "$work/debs" "$work/rootfs"
  (cd "$work/debs" && apt-get download -qq -o APT::Sandbox::User=root "${SAM_LOCAL_DEBS[@]}") \
    || sam_local_fail "apt-get download ${SAM_LOCAL_DEBS[*]} failed"
  local deb
  for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$work/rootfs"
  done
  (
    cd "$work/rootfs"
    mkdir -p bin tmp var/task var/runtime var/rapid opt etc
    chmod 1777 tmp
    # busybox-static's applets that SAM CLI's image build (RUN mv, chmod, cp, rm) and a person
    # poking around need.
    for applet in sh mv chmod cp rm mkdir ls cat env ln echo; do
      ln -sf /bin/busybox "bin/$applet"
    done
    # The host's CA bundle where Debian and Amazon Linux keep theirs (the functions' TLS stack
    # loads the native roots at start; moto is plain HTTP, a deployed endpoint is not).
    mkdir -p etc/ssl/certs etc/pki/tls/certs
    cp "$ca_bundle" etc/ssl/certs/ca-certificates.crt
    ln -sf /etc/ssl/certs/ca-certificates.crt etc/pki/tls/certs/ca-bundle.crt
    printf 'root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n' > etc/passwd
    printf 'root:x:0:\nsbx_user1051:x:990:\n' > etc/group
  )
  [[ -x $work/rootfs/lib/ld-linux-aarch64.so.1 || -e $work/rootfs/lib/ld-linux-aarch64.so.1 ]] \
    || sam_local_fail "the arm64 rootfs has no /lib/ld-linux-aarch64.so.1 (libc6:arm64 layout changed?)"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  printf '%s\nLABEL approval-gate.recipe=%s\n' "$SAM_LOCAL_DOCKERFILE" "$want" > "$work/Dockerfile"
  docker build --platform linux/arm64 -t "$SAM_LOCAL_IMAGE" -f "$work/Dockerfile" "$work" >"$work/build.log" 2>&1 \
    || sam_local_fail "docker build of $SAM_LOCAL_IMAGE failed:
$(tail -20 "$work/build.log")"
  # SAM CLI reuses its image on top of the old base (same tag) unless told: drop it.
  docker image rm -f "$SAM_LOCAL_RAPID_IMAGE" >/dev/null 2>&1 || true
  rm -rf "$work/rootfs" "$work/rootfs.tar" "$work/debs"
  # The image must run arm64 code here: the dynamic loader and busybox through qemu.
  local arch out
  arch="$(docker image inspect -f '{{.Architecture}}' "$SAM_LOCAL_IMAGE")"
  [[ $arch == arm64 ]] || sam_local_fail "$SAM_LOCAL_IMAGE has architecture $arch, not arm64"
  out="$(docker run --rm --platform linux/arm64 --entrypoint /bin/sh "$SAM_LOCAL_IMAGE" -c 'echo ok' 2>&1)" \
    || sam_local_fail "$SAM_LOCAL_IMAGE cannot run arm64 code here: $out"
}
