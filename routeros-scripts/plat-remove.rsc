# xlat PLAT: removes what plat-install.rsc created and the routes, rules and
# lists the PLAT provisioned (comment "xlat:plat:default"), in case the
# container could not remove them itself. Nothing else is touched.
#
# PREF64 and option 108 edit items that are yours (an /ipv6/nd entry, DHCP
# networks); the container undoes those edits when it stops, from its
# ledger. If ledger entries remain, this script keeps them and tells you to
# run "xlat-routeros remove plat" (which undoes exactly the recorded edits).
#   /import plat-remove.rsc

# ---- your values (as in plat-install.rsc) -----------------------------------
:global xlatContainer "xlat-plat"
:global xlatEnvList "xlat-plat"
# ---- end of your values -------------------------------------------------

:put "xlat PLAT: stopping the container (it removes its own routes and rules)"
/system/scheduler/remove [find where comment="xlat-install:plat"]
{
    :local ct [/container/find where name=$xlatContainer]
    :if ([:len $ct] > 0) do={
        :if ([/container/get $ct status] = "running") do={
            /container/stop $ct
        }
        :local waited 0
        :while (([/container/get $ct status] != "stopped") && ($waited < 60)) do={
            :delay 1s
            :set waited ($waited + 1)
        }
        /container/remove $ct
    }
}
/container/envs/remove [find where list=$xlatEnvList]

:put "xlat PLAT: provisioned routes, rules and lists left behind, if any"
/ip/route/remove [find where comment="xlat:plat:default"]
/ipv6/route/remove [find where comment="xlat:plat:default"]
/ip/firewall/filter/remove [find where comment~"^xlat:plat:default( |\$)"]
/ipv6/firewall/filter/remove [find where comment~"^xlat:plat:default( |\$)"]
/ip/firewall/mangle/remove [find where comment~"^xlat:plat:default( |\$)"]
/ipv6/firewall/mangle/remove [find where comment~"^xlat:plat:default( |\$)"]
/ip/firewall/address-list/remove [find where list="xlat-plat-default-nonglobal"]
/ipv6/firewall/address-list/remove [find where list="xlat-plat-default-nonglobal"]
{
    :local ledger ([:len [/ipv6/firewall/address-list/find where list="xlat-plat-default-ledger"]] + [:len [/ip/firewall/address-list/find where list="xlat-plat-default-ledger"]])
    :if ($ledger > 0) do={
        :put ("xlat PLAT: " . $ledger . " edit(s) of your /ipv6/nd or DHCP network entries are still recorded;")
        :put "  run: xlat-routeros --routeros-url apis://ROUTER remove plat   (the option 108 object is kept until then)"
    } else={
        /ip/dhcp-server/option/remove [find where comment~"^xlat:plat:default( |\$)"]
    }
}

:put "xlat PLAT: installed objects"
/ip/firewall/filter/remove [find where comment="xlat-install:plat"]
/user/remove [find where comment="xlat-install:plat"]
/user/group/remove [find where comment="xlat-install:plat"]
/interface/bridge/port/remove [find where comment="xlat-install:plat"]
/interface/veth/remove [find where comment="xlat-install:plat"]
/ip/address/remove [find where comment="xlat-install:plat"]
/ipv6/address/remove [find where comment="xlat-install:plat"]
/interface/bridge/remove [find where comment="xlat-install:plat"]
/system/script/environment/remove [find where name~"^xlat"]
:put "xlat PLAT: removed (the image file and the root directory stay on disk)"
