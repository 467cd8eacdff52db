# xlat PLAT: prints the state of the installation (container, network,
# routes, firewall rules and lists, PREF64 and option 108 edits, health
# endpoint). Changes nothing.
#   /import plat-check.rsc

# ---- your values (as in plat-install.rsc) -----------------------------------
:global xlatContainer "xlat-plat"
:global xlatVeth "veth-xlat-plat"
:global xlatContainerV4 "172.18.0.2"
:global xlatHealthPort "9465"
# ---- end of your values -------------------------------------------------

{
    :local ct [/container/find where name=$xlatContainer]
    :if ([:len $ct] = 0) do={
        :put ("container " . $xlatContainer . ": not installed")
    } else={
        :put ("container " . $xlatContainer . ": " . [/container/get $ct status])
    }
    :put ("veth " . $xlatVeth . ": " . [:len [/interface/veth/find where name=$xlatVeth]] . " found")
    :put ("IPv6 routes to the PLAT (pool6): " . [:len [/ipv6/route/find where comment="xlat:plat:default"]] . " (disabled: " . [:len [/ipv6/route/find where comment="xlat:plat:default" disabled=yes]] . ")")
    :put ("IPv4 routes to the PLAT (pool4): " . [:len [/ip/route/find where comment="xlat:plat:default"]])
    :put ("IPv6 filter rules: " . [:len [/ipv6/firewall/filter/find where comment~"^xlat:plat:default( |\$)"]])
    :put ("IPv4 filter rules: " . [:len [/ip/firewall/filter/find where comment~"^xlat:plat:default( |\$)"]])
    :put ("non-global drop list entries: " . [:len [/ip/firewall/address-list/find where list="xlat-plat-default-nonglobal"]] . " IPv4, " . [:len [/ipv6/firewall/address-list/find where list="xlat-plat-default-nonglobal"]] . " IPv6")
    :put ("edits of your ND / DHCP entries (ledger): " . [:len [/ipv6/firewall/address-list/find where list="xlat-plat-default-ledger"]] . " IPv6, " . [:len [/ip/firewall/address-list/find where list="xlat-plat-default-ledger"]] . " IPv4")
    :put ("option 108: " . [:len [/ip/dhcp-server/option/find where code=108]] . " option(s) with code 108")
    :do {
        :local r [/tool/fetch url=("http://" . $xlatContainerV4 . ":" . $xlatHealthPort . "/healthz") output=user as-value]
        :put ("health: " . ($r->"data"))
    } on-error={
        :put "health: /healthz unreachable (container down, or metrics off)"
    }
}
