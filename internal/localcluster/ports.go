package localcluster

import (
	"errors"
	"fmt"
	"net"
)

// FreePorts returns n sets of loopback ports that are free now: HTTP,
// gRPC, a gossip port whose TCP and UDP (memberlist uses both) and next
// TCP port are free, and a Raft port whose next port is free. Every port
// is held until all are chosen, so all are distinct. Another process may
// still take one before a node binds it; Cluster.Start then retries.
func FreePorts(n int) ([]Ports, error) {
	var held []func()
	defer func() {
		for _, c := range held {
			c()
		}
	}()
	tcp := func(port int) bool {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		held = append(held, func() { l.Close() })
		return true
	}
	udp := func(port int) bool {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		held = append(held, func() { c.Close() })
		return true
	}
	one := func() (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		held = append(held, func() { l.Close() })
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	pair := func(withUDP bool) (int, error) {
		for i := 0; i < 50; i++ {
			p, err := one()
			if err != nil {
				return 0, err
			}
			if p >= 65535 || !tcp(p+1) {
				continue
			}
			if withUDP && !udp(p) {
				continue
			}
			return p, nil
		}
		return 0, errors.New("no two consecutive free loopback ports found")
	}
	out := make([]Ports, n)
	for i := range out {
		var err error
		p := &out[i]
		if p.HTTP, err = one(); err != nil {
			return nil, err
		}
		if p.GRPC, err = one(); err != nil {
			return nil, err
		}
		if p.Gossip, err = pair(true); err != nil {
			return nil, err
		}
		if p.Raft, err = pair(false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PortsFree reports whether every port of ps (with gossip+1 and raft+1) can
// be bound on loopback now.
func PortsFree(ps []Ports) bool {
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for _, p := range ps {
		for _, port := range []int{p.HTTP, p.GRPC, p.Gossip, p.Gossip + 1, p.Raft, p.Raft + 1} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return false
			}
			closers = append(closers, func() { l.Close() })
		}
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p.Gossip))
		if err != nil {
			return false
		}
		closers = append(closers, func() { c.Close() })
	}
	return true
}
