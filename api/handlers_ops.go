package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatd/chatd/chat"
)

func init() { routeRegistrars = append(routeRegistrars, (*Server).registerOps) }

// registerOps adds the operators' endpoints: metrics and the cluster view.
func (s *Server) registerOps() {
	if s.cfg.Gatherer != nil {
		h := promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{})
		s.mux.Handle("GET /metrics", h)
	}
	s.public("GET /cluster", s.operator(s.handleCluster))
	s.public("GET /cluster/rooms/{id}", s.operator(s.handleClusterRoom))
}

// operator guards a route with the operator token; without one configured the route
// does not exist (404), as the contract pins.
func (s *Server) operator(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.OperatorToken == "" {
			return chat.Errorf(chat.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path)
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.OperatorToken)) != 1 {
			return chat.Errorf(chat.CodeUnauthorized, "operator token required")
		}
		return h(w, r)
	}
}

// clusterMember is one node as GET /cluster shows it.
type clusterMember struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr"`
	PeerAddr   string `json:"peer_addr"`
	RoomsOwned int    `json:"rooms_owned"`
}

// clusterView is GET /cluster's body.
type clusterView struct {
	Self        string          `json:"self"`
	RingVersion uint64          `json:"ring_version"`
	Members     []clusterMember `json:"members"`
}

// handleCluster shows the members as this node sees them. rooms_owned is exact for
// this node and, for the others, the rooms this node knows they own (the rooms it
// uses whose ring owner they are).
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) error {
	v := s.node.ClusterView()
	owned := s.node.RoomsByOwner()
	out := clusterView{Self: v.Self, RingVersion: v.RingVersion, Members: make([]clusterMember, 0, len(v.Members))}
	for _, m := range v.Members {
		cm := clusterMember{Name: m.Name, State: m.State, GossipAddr: m.GossipAddr,
			PeerAddr: m.Meta.PeerAddr, HTTPAddr: m.Meta.HTTPAddr, RoomsOwned: owned[m.Name]}
		if m.Name == v.Self {
			cm.RoomsOwned = s.node.RoomsOwned()
			if cm.HTTPAddr == "" {
				cm.HTTPAddr = r.Host
			}
		}
		out.Members = append(out.Members, cm)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleClusterRoom(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.node.Ownership(id))
}
