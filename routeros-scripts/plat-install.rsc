# xlat PLAT (RFC 6146 stateful NAT64, the provider side of 464XLAT) on
# RouterOS 7.21+ with the container package. Installs: a bridge for the
# container with addresses, the veth, the environment list, optionally an
# API user for self-provisioning, the container itself (started), and a
# health check that withdraws the PLAT routes while the container is down.
#
# Before: /system/device-mode/update container=yes (confirm on the device),
# install the container package, upload xlat-plat-<version>-arm64.tar (from
# container/build.sh) to the router's disk.
# Then: edit the values below, upload this file and run
#   /import plat-install.rsc
# Objects created here carry the comment "xlat-install:plat"; the routes and
# firewall rules of the PLAT carry "xlat:plat:default".
# Undo with plat-remove.rsc; see the state with plat-check.rsc.

# ---- your values -----------------------------------------------------------
:global xlatImage "usb1/xlat-plat-0.1.0-arm64.tar"
:global xlatRootDir "usb1/xlat/plat"
:global xlatContainer "xlat-plat"
:global xlatVeth "veth-xlat-plat"
:global xlatBridge "br-xlat-plat"
:global xlatEnvList "xlat-plat"
# Router side and container side of the container network.
:global xlatRouterV4 "172.18.0.1"
:global xlatContainerV4 "172.18.0.2"
:global xlatLenV4 "24"
:global xlatRouterV6 "fd00:172:18::1"
:global xlatContainerV6 "fd00:172:18::2"
:global xlatLenV6 "64"
# The NAT64 prefix (RFC 6052) and the IPv4 addresses it translates to:
# pool4 must be routed to this router by your network.
:global xlatPool6 "64:ff9b::/96"
:global xlatPool4 "198.51.100.0/28"
# IPv6 prefixes of the customers allowed to use the PLAT.
:global xlatClients "2001:db8:100::/40"
:global xlatMemoryHigh "128M"
# Self-provisioning (routes, firewall, non-global drop lists) through the
# API with a restricted user. Set xlatApiPassword to a long random string.
:global xlatSelfProvision true
:global xlatApiUser "xlat-plat"
:global xlatApiPassword "change-me-to-a-long-random-password"
:global xlatApiGroup "xlat-plat-provision"
:global xlatLanList "LAN"
:global xlatWanList "WAN"
# Optional: advertise pool6 as PREF64 (RFC 8781) in the RAs of this
# interface's /ipv6/nd entry ("" = off), and DHCPv4 option 108 (RFC 8925,
# IPv6-only preferred) with this V6ONLY_WAIT ("" = off) on these DHCP
# networks (comma-separated /ip/dhcp-server/network addresses).
:global xlatPref64Interface ""
:global xlatV6OnlyWait ""
:global xlatDhcpNetworks ""
:global xlatHealthInterval "30s"
# ---- end of your values -------------------------------------------------

:put "xlat PLAT: container network"
/interface/bridge/add name=$xlatBridge comment="xlat-install:plat"
/ip/address/add address=($xlatRouterV4 . "/" . $xlatLenV4) interface=$xlatBridge comment="xlat-install:plat"
/ipv6/address/add address=($xlatRouterV6 . "/" . $xlatLenV6) interface=$xlatBridge advertise=no comment="xlat-install:plat"
/interface/veth/add name=$xlatVeth address=($xlatContainerV4 . "/" . $xlatLenV4 . "," . $xlatContainerV6 . "/" . $xlatLenV6) gateway=$xlatRouterV4 gateway6=$xlatRouterV6 comment="xlat-install:plat"
/interface/bridge/port/add bridge=$xlatBridge interface=$xlatVeth comment="xlat-install:plat"

:put "xlat PLAT: environment list"
/container/envs/add list=$xlatEnvList key="XLAT_ROLE" value="plat" comment="xlat-install:plat"
/container/envs/add list=$xlatEnvList key="XLAT_POOL6" value=$xlatPool6 comment="xlat-install:plat"
/container/envs/add list=$xlatEnvList key="XLAT_POOL4" value=$xlatPool4 comment="xlat-install:plat"
/container/envs/add list=$xlatEnvList key="XLAT_CLIENTS" value=$xlatClients comment="xlat-install:plat"

:if ($xlatSelfProvision) do={
    :put "xlat PLAT: API user for self-provisioning"
    /user/group/add name=$xlatApiGroup policy="read,write,api,rest-api" comment="xlat-install:plat"
    /user/add name=$xlatApiUser group=$xlatApiGroup password=$xlatApiPassword address=($xlatContainerV4 . "/32") comment="xlat-install:plat"
    {
        :local first ([/ip/firewall/filter/find where dynamic=no]->0)
        :if ([:typeof $first] = "id") do={
            /ip/firewall/filter/add chain=input action=accept protocol=tcp dst-port="8728" in-interface=$xlatBridge src-address=$xlatContainerV4 dst-address=$xlatRouterV4 place-before=$first comment="xlat-install:plat"
        } else={
            /ip/firewall/filter/add chain=input action=accept protocol=tcp dst-port="8728" in-interface=$xlatBridge src-address=$xlatContainerV4 dst-address=$xlatRouterV4 comment="xlat-install:plat"
        }
    }
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_URL" value="api://gateway" comment="xlat-install:plat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_USER" value=$xlatApiUser comment="xlat-install:plat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_PASSWORD" value=$xlatApiPassword comment="xlat-install:plat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_VETH" value=$xlatVeth comment="xlat-install:plat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_LAN_LIST" value=$xlatLanList comment="xlat-install:plat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_WAN_LIST" value=$xlatWanList comment="xlat-install:plat"
    /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_REMOVE_ON_EXIT" value="true" comment="xlat-install:plat"
    :if ([:len $xlatPref64Interface] > 0) do={
        /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_PREF64_INTERFACE" value=$xlatPref64Interface comment="xlat-install:plat"
    }
    :if ([:len $xlatV6OnlyWait] > 0) do={
        /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_V6ONLY_WAIT" value=$xlatV6OnlyWait comment="xlat-install:plat"
        /container/envs/add list=$xlatEnvList key="XLAT_ROUTEROS_DHCP_NETWORKS" value=$xlatDhcpNetworks comment="xlat-install:plat"
    }
}

:put "xlat PLAT: container (extracting the image)"
/container/add name=$xlatContainer file=$xlatImage interface=$xlatVeth envlists=$xlatEnvList root-dir=$xlatRootDir logging=yes start-on-boot=yes memory-high=$xlatMemoryHigh comment="xlat-install:plat"
{
    :local ct [/container/find where name=$xlatContainer]
    :local waited 0
    :while (([/container/get $ct status] != "stopped") && ($waited < 120)) do={
        :delay 1s
        :set waited ($waited + 1)
    }
    :if ([/container/get $ct status] != "stopped") do={
        :error "xlat PLAT: the image did not extract within 120 s; see /log/print where topics~\"container\""
    }
    /container/start $ct
    :put "xlat PLAT: started"
}

:put "xlat PLAT: health check (withdraws the PLAT routes while the container is down)"
# The event names the container "xlat-plat" and the tag "xlat:plat:default":
# edit both inside the quotes if you changed xlatContainer or the instance.
/system/scheduler/add name="xlat-plat-health" interval=$xlatHealthInterval comment="xlat-install:plat" on-event=":local ct [/container/find where name=\"xlat-plat\"]; :local up false; :if ([:len \$ct] > 0) do={ :if ([/container/get \$ct status] = \"running\") do={ :set up true } }; :local r4 [/ip/route/find where comment=\"xlat:plat:default\"]; :local r6 [/ipv6/route/find where comment=\"xlat:plat:default\"]; :if (\$up) do={ /ip/route/enable \$r4; /ipv6/route/enable \$r6 } else={ :if ([:len [/ipv6/route/find where comment=\"xlat:plat:default\" disabled=no]] > 0) do={ :log warning \"xlat-plat is not running: PLAT routes withdrawn\" }; /ip/route/disable \$r4; /ipv6/route/disable \$r6 }"

:if (!$xlatSelfProvision) do={
    :put "xlat PLAT: self-provisioning is off. Add the routes and firewall rules from a PC:"
    :put "  xlat-routeros --routeros-url apis://ROUTER --routeros-veth veth-xlat-plat apply plat --pool6 PREFIX --pool4 PREFIX --clients PREFIX"
}
:put "xlat PLAT: done. Check with /import plat-check.rsc"
