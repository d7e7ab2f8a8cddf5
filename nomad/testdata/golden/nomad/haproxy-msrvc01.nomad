job "haproxy-msrvc01" {
  type        = "service"
  datacenters = ["dc1"]
  meta {
    vipctl_cluster = "msrvc01"
  }

  group "haproxy" {
    count = 3
    constraint {
      attribute = "${node.unique.name}"
      operator  = "regexp"
      value     = "^(pg-01|pg-02|pg-03)$"
    }
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }
    network {
      mode = "host"
      port "db" {
        static = 5001
      }
      port "stats" {
        static = 6001
      }
    }
    restart {
      attempts = 5
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }
    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "3m"
      auto_revert      = true
    }
    service {
      name     = "haproxy-msrvc01"
      port     = "db"
      provider = "consul"
      check {
        name     = "haproxy stats"
        type     = "http"
        port     = "stats"
        path     = "/"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "haproxy" {
      driver       = "docker"
      kill_timeout = "10s"
      config {
        image        = "haproxy:2.6"
        network_mode = "host"
        volumes      = ["local/haproxy:/usr/local/etc/haproxy"]
      }
      template {
        destination   = "local/haproxy/haproxy.cfg"
        change_mode   = "signal"
        change_signal = "SIGUSR2"
        data          = <<EOT
# HAProxy for PostgreSQL cluster msrvc01 (Nomad job haproxy-msrvc01), rendered by vipctl: do not edit.
# Clients connect to the VIP of host group db-a on port 5001; the one server that passes
# Patroni's /primary check (the leader) receives the connection.

global
    log stdout format raw local0
    maxconn 4096

defaults
    mode tcp
    log global
    option tcplog
    option dontlognull
    option clitcpka
    option srvtcpka
    retries 2
    timeout connect 4s
    timeout client 30m
    timeout server 30m
    timeout check 3s

# Consul DNS of the host's agent: HAProxy runs in the host's network.
resolvers consul
    nameserver consul 127.0.0.1:8600
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 1000ms
    hold other 30s
    hold refused 30s
    hold nx 30s
    hold timeout 30s
    hold obsolete 30s

listen msrvc01
    bind *:5001
    mode tcp
    option httpchk
    http-check send meth OPTIONS uri /primary
    http-check expect status 200
    default-server inter 1000ms fastinter 250ms downinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions
    server-template pg 1-3 _pgsql-msrvc01._master.service.consul resolvers consul resolve-prefer ipv4 init-addr none check port 8008

listen msrvc01-stats
    bind *:6001
    mode http
    stats enable
    stats uri /
    stats refresh 10s
EOT
      }
      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
