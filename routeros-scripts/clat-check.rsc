# xlat CLAT: prints the state of the installation (container, network,
# routes and firewall rules, health endpoint). Changes nothing.
#   /import clat-check.rsc

# ---- your values (as in clat-install.rsc) -----------------------------------
:global xlatContainer "xlat-clat"
:global xlatVeth "veth-xlat-clat"
:global xlatContainerV4 "172.17.0.2"
:global xlatHealthPort "9464"
# ---- end of your values -------------------------------------------------

{
    :local ct [/container/find where name=$xlatContainer]
    :if ([:len $ct] = 0) do={
        :put ("container " . $xlatContainer . ": not installed")
    } else={
        :put ("container " . $xlatContainer . ": " . [/container/get $ct status])
    }
    :put ("veth " . $xlatVeth . ": " . [:len [/interface/veth/find where name=$xlatVeth]] . " found")
    :put ("IPv4 routes to the CLAT: " . [:len [/ip/route/find where comment="xlat:clat:default"]] . " (disabled: " . [:len [/ip/route/find where comment="xlat:clat:default" disabled=yes]] . ")")
    :put ("IPv6 routes to the CLAT: " . [:len [/ipv6/route/find where comment="xlat:clat:default"]])
    :put ("IPv4 filter rules: " . [:len [/ip/firewall/filter/find where comment~"^xlat:clat:default( |\$)"]])
    :put ("IPv6 filter rules: " . [:len [/ipv6/firewall/filter/find where comment~"^xlat:clat:default( |\$)"]])
    :put ("NAT rules: " . [:len [/ip/firewall/nat/find where comment~"^xlat:clat:default( |\$)"]])
    :put ("installed objects left by the install script: " . [:len [/interface/veth/find where comment="xlat-install:clat"]] . " veth, " . [:len [/container/envs/find where comment="xlat-install:clat"]] . " env entries")
    :do {
        :local r [/tool/fetch url=("http://" . $xlatContainerV4 . ":" . $xlatHealthPort . "/healthz") output=user as-value]
        :put ("health: " . ($r->"data"))
    } on-error={
        :put "health: /healthz unreachable (container down, or metrics off)"
    }
}
