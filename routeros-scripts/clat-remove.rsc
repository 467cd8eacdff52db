# xlat CLAT: removes what clat-install.rsc created and the routes and
# firewall rules the CLAT provisioned (comment "xlat:clat:default", in case
# the container could not remove them itself). Nothing else is touched.
#   /import clat-remove.rsc

# ---- your values (as in clat-install.rsc) -----------------------------------
:global xlatContainer "xlat-clat"
:global xlatEnvList "xlat-clat"
# ---- end of your values -------------------------------------------------

:put "xlat CLAT: stopping the container (it removes its own routes and rules)"
/system/scheduler/remove [find where comment="xlat-install:clat"]
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

:put "xlat CLAT: provisioned routes and rules left behind, if any"
/ip/route/remove [find where comment="xlat:clat:default"]
/ipv6/route/remove [find where comment="xlat:clat:default"]
/ip/firewall/filter/remove [find where comment~"^xlat:clat:default( |\$)"]
/ipv6/firewall/filter/remove [find where comment~"^xlat:clat:default( |\$)"]
/ip/firewall/nat/remove [find where comment~"^xlat:clat:default( |\$)"]
/ip/firewall/mangle/remove [find where comment~"^xlat:clat:default( |\$)"]
/ipv6/firewall/mangle/remove [find where comment~"^xlat:clat:default( |\$)"]

:put "xlat CLAT: installed objects"
/ip/firewall/filter/remove [find where comment="xlat-install:clat"]
/user/remove [find where comment="xlat-install:clat"]
/user/group/remove [find where comment="xlat-install:clat"]
/interface/bridge/port/remove [find where comment="xlat-install:clat"]
/interface/veth/remove [find where comment="xlat-install:clat"]
/ip/address/remove [find where comment="xlat-install:clat"]
/ipv6/address/remove [find where comment="xlat-install:clat"]
/interface/bridge/remove [find where comment="xlat-install:clat"]
/system/script/environment/remove [find where name~"^xlat"]
:put "xlat CLAT: removed (the image file and the root directory stay on disk)"
