"""The load balancer: pure IPVS desired-state model and diff, and the netlink driver."""
