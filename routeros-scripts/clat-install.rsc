# xlat CLAT (RFC 6877 customer-side translator) on RouterOS 7.21+ with the
# container package. Installs: a bridge for the container with addresses,
# the veth, the environment list, optionally an API user for
# self-provisioning, the container itself (started), and a health check
# that withdraws the CLAT routes while the container is down.
#
# Before: /system/device-mode/update container=yes (confirm on the device),
# install the container package, upload xlat-<version>-arm64.tar (from
# container/build.sh) to the router's disk.
# Then: edit the values below, upload this file and run
#   /import clat-install.rsc
# Objects created here carry the comment "xlat-install:clat"; the routes and
# firewall rules the CLAT provisions itself carry "xlat:clat:default".
# Undo with clat-remove.rsc; see the state with clat-check.rsc.

# ---- your values -----------------------------------------------------------
# Image file (container/build.sh: target/images/xlat-<version>-<arch>.tar).
:global xlatImage "usb1/xlat-0.1.0-arm64.tar"
# Where the container's root file system is extracted.
:global xlatRootDir "usb1/xlat/clat"
:global xlatContainer "xlat-clat"
:global xlatVeth "veth-xlat-clat"
:global xlatBridge "br-xlat"
:global xlatEnvList "xlat-clat"
# Router side and container side of the container network.
:global xlatRouterV4 "172.17.0.1"
:global xlatContainerV4 "172.17.0.2"
:global xlatLenV4 "24"
:global xlatRouterV6 "fd00:172:17::1"
:global xlatContainerV6 "fd00:172:17::2"
:global xlatLenV6 "64"
# The CLAT's IPv6 address: one address of your delegated prefix that
# nothing else uses (RFC 6877 single-address mode; the router NATs the LAN
# into 192.0.0.1 and the CLAT maps it to this address).
:global xlatClatIpv6 "2001:db8:aaaa::1"
# PLAT (NAT64) prefix: "auto" (RFC 8781 / RFC 7050 discovery) or a prefix.
:global xlatPlatPrefix "auto"
# Memory limit of the container.
:global xlatMemoryHigh "64M"
# Self-provisioning: the CLAT adds its routes and firewall rules through
# the API with this user (restricted group), re-checks every 5 minutes and
# removes them when stopped. Set xlatApiPassword to a long random string.
:global xlatSelfProvision true
:global xlatApiUser "xlat-clat"
:global xlatApiPassword "change-me-to-a-long-random-password"
:global xlatApiGroup "xlat-clat-provision"
# Interface lists of the default configuration.
:global xlatLanList "LAN"
:global xlatWanList "WAN"
# Health check period.
:global xlatHealthInterval "30s"
# ---- end of your values -------------------------------------------------

:put "xlat CLAT: container network"
/interface/bridge/add name=$xlatBridge comment="xlat-install:clat"
/ip/address/add address=($xlatRouterV4 . "/" . $xlatLenV4) interface=$xlatBridge comment="xlat-install:clat"
/ipv6/address/add address=($xlatRouterV6 . "/" . $xlatLenV6) interface=$xlatBridge advertise=no comment="xlat-install:clat"
/interface/veth/add name=$xlatVeth address=($xlatContainerV4 . "/" . $xlatLenV4 . "," . $xlatContainerV6 . "/" . $xlatLenV6) gateway=$xlatRouterV4 gateway6=$xlatRouterV6 comment="xlat-install:clat"
/interface/bridge/port/add bridge=$xlatBridge interface=$xlatVeth comment="xlat-install:clat"

:put "xlat CLAT: environment list"
/container/envs/add list=$xlatEnvList key="XLAT_ROLE" value="clat" comment="xlat-install:clat"
/container/envs/add list=$xlatEnvList key="XLAT_CLAT_IPV6" value=$xlatClatIpv6 comment="xlat-install:clat"
/container/envs/add list=$xlatEnvList key="XLAT_PLAT_PREFIX" value=$xlatPlatPrefix comment="xlat-install:clat"

:if ($xlatSelfProvision) do={
    :put "xlat CLAT: API user for self-provisioning"
    /user/group/add name=$xlatApiGroup policy="read,write,api,rest-api" comment="xlat-install:clat"
    /user/add name=$xlatApiUser group=$xlatApiGroup password=$xlatApiPassword address=($xlatContainerV4 . "/32") comment="xlat-install:clat"
    # The default input chain drops what does not come from the LAN list:
    # let the container reach the API (8728) on the router's bridge address.
    {
        :local first ([/ip/firewall/filter/find where dynamic=no]->0)
        :if ([:typeof $first] = "id") do={
            /ip/firewall/filter/add chain=input action=accept protocol=tcp dst-port="8728" in-interface=$xlatBridge src-address=$xlatContainerV4 dst-address=$xlatRouterV4 place-before=$first comment="xlat-install:clat"
        } else={
            /ip/firewall/filter/add chain=input action=accept protocol=tcp dst-port="8728" in-interface=$xlatBridge src-address=$xlatContainerV4 dst-address=$xlatRouterV4 comment="xlat-install:clat"
        }
    }
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_URL" value="api://gateway" comment="xlat-install:clat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_USER" value=$xlatApiUser comment="xlat-install:clat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_PASSWORD" value=$xlatApiPassword comment="xlat-install:clat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_VETH" value=$xlatVeth comment="xlat-install:clat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_LAN_LIST" value=$xlatLanList comment="xlat-install:clat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_WAN_LIST" value=$xlatWanList comment="xlat-install:clat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_REMOVE_ON_EXIT" value="true" comment="xlat-install:clat"
}

:put "xlat CLAT: container (extracting the image)"
/container/add name=$xlatContainer file=$xlatImage interface=$xlatVeth envlists=$xlatEnvList root-dir=$xlatRootDir logging=yes start-on-boot=yes memory-high=$xlatMemoryHigh comment="xlat-install:clat"
{
    :local ct [/container/find where name=$xlatContainer]
    :local waited 0
    :while (([/container/get $ct status] != "stopped") && ($waited < 120)) do={
        :delay 1s
        :set waited ($waited + 1)
    }
    :if ([/container/get $ct status] != "stopped") do={
        :error "xlat CLAT: the image did not extract within 120 s; see /log/print where topics~\"container\""
    }
    /container/start $ct
    :put "xlat CLAT: started"
}

:put "xlat CLAT: health check (withdraws the CLAT routes while the container is down)"
# The event names the container "xlat-clat" and the tag "xlat:clat:default":
# edit both inside the quotes if you changed xlatContainer or the instance.
/system/scheduler/add name="xlat-clat-health" interval=$xlatHealthInterval comment="xlat-install:clat" on-event=":local ct [/container/find where name=\"xlat-clat\"]; :local up false; :if ([:len \$ct] > 0) do={ :if ([/container/get \$ct status] = \"running\") do={ :set up true } }; :local r4 [/ip/route/find where comment=\"xlat:clat:default\"]; :local r6 [/ipv6/route/find where comment=\"xlat:clat:default\"]; :if (\$up) do={ /ip/route/enable \$r4; /ipv6/route/enable \$r6 } else={ :if ([:len [/ip/route/find where comment=\"xlat:clat:default\" disabled=no]] > 0) do={ :log warning \"xlat-clat is not running: CLAT routes withdrawn\" }; /ip/route/disable \$r4; /ipv6/route/disable \$r6 }"

:if (!$xlatSelfProvision) do={
    :put "xlat CLAT: self-provisioning is off. Add the routes and firewall rules from a PC:"
    :put "  xlat-routeros --routeros-url apis://ROUTER --routeros-veth veth-xlat-clat apply clat --clat-ipv6 ADDR"
    :put "  or: xlat-routeros ... apply --dry-run --offline clat ... > clat-provision.rsc, then /import clat-provision.rsc"
}
:put "xlat CLAT: done. Check with /import clat-check.rsc"
