#!/bin/sh
# Install the Debian packages yamori needs when they are missing (as root), or say which are.
#   venv: what `python3 -m venv` and the dashboard's build need;
#   run:  what the agent reads at run time (vendors, distribution lifecycle, SMART, RAID, nftables);
#   test: what the test suite starts for real.
set -eu
want=""
need() { # need BINARY-OR-PATH PACKAGE
    if [ -e "$1" ] || command -v "$1" >/dev/null 2>&1; then return 0; fi
    want="$want $2"
}
case "${1:-test}" in
venv)
    python3 -c 'import ensurepip, venv' 2>/dev/null || want="$want python3-venv"
    need npm npm          # the dashboard's uPlot comes from npm at build time
    ;;
run)
    need /usr/share/ieee-data/oui.csv ieee-data          # MAC vendors in LAN findings
    need /usr/share/distro-info/debian.csv distro-info-data   # the OS lifecycle probe
    need smartctl smartmontools
    need mdadm mdadm
    need nft nftables
    ;;
test)
    python3 -c 'import ensurepip, venv' 2>/dev/null || want="$want python3-venv"
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want="$want postgresql"
    need pgpool pgpool2
    need nft nftables
    need logrotate logrotate
    need ip iproute2
    need tc iproute2
    need setpriv util-linux
    need keepalived keepalived
    need mdadm mdadm
    need named bind9
    need nsupdate bind9-dnsutils
    need munin-run munin-node
    need /usr/share/munin/plugins/cpu munin-plugins-core
    need rrdtool rrdtool
    need /usr/sbin/sshd openssh-server
    need ssh-keygen openssh-client
    need sgdisk gdisk
    need sfdisk fdisk
    need ledctl ledmon
    need efibootmgr efibootmgr
    need mkfs.vfat dosfstools
    need grub-install grub2-common
    need /usr/lib/grub/i386-pc grub-pc-bin
    need mkfs.ext4 e2fsprogs
    need ping iputils-ping
    need ntpd ntpsec
    need snmpd snmpd
    need memcached memcached
    need inetd openbsd-inetd
    need miniupnpd miniupnpd-nftables
    need npm npm
    need chromium chromium                        # dashboard tests (Playwright drives it)
    # Playwright's driver (a node binary in the pip wheel) links libatomic.so.1
    /sbin/ldconfig -p 2>/dev/null | grep -q 'libatomic\.so\.1 ' || want="$want libatomic1"
    need /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf fonts-ipafont-gothic   # Japanese pages in screenshots
    need promtool prometheus                      # /metrics and contrib/prometheus checked by promtool
    need prometheus-node-exporter prometheus-node-exporter   # bench/web_dashboard.py's CPU peer
    need /lib/nut/upsd nut-server
    need /lib/nut/dummy-ups nut-server
    need /usr/lib/locale/ja_JP.utf8 locales-all
    need wipefs util-linux
    need rsyslogd rsyslog                  # tests/guard/test_guard_syslog_pg.py: a real syslog daemon
    need logger bsdutils                   # ... another program's lines in the same file
    need /lib/systemd/systemd-journal-remote systemd-journal-remote   # tests/guard/test_guard_journal.py: journal files
    if ! locale -a 2>/dev/null | grep -qi '^ja_JP.utf8$'; then
        [ -e /usr/lib/locale/ja_JP.utf8 ] || want="$want locales-all"
    fi
    # The sshd test targets bind-mount their own machine-id over /etc/machine-id. systemd writes
    # one on every installed Debian; a container or chroot without systemd has none: write one the same way.
    if [ ! -e /etc/machine-id ]; then
        if [ "$(id -u)" = 0 ]; then
            tr -d '-' < /proc/sys/kernel/random/uuid > /etc/machine-id && chmod 444 /etc/machine-id
        else
            echo "missing /etc/machine-id (run as root, or: systemd-machine-id-setup)" >&2
        fi
    fi
    ;;
esac
want=$(echo "$want" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/^ *//;s/ *$//')
[ -z "$want" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: $want"
    export DEBIAN_FRONTEND=noninteractive
    # Debian starts services on install; the tests start their own instances instead.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $want >/dev/null
else
    echo "missing Debian packages (install as root): $want" >&2
    echo "  sudo apt-get install --no-install-recommends $want" >&2
    [ "${1:-test}" = venv ] && exit 1
    [ "${1:-test}" = run ] && echo "  (the agent runs without them; the checks that need them say so)" >&2
fi
exit 0
