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

// clusterView is GET /cluster's body. Until the cluster arrives (issue 4) a node is
// a cluster of one at ring version 0.
type clusterView struct {
	Self        string          `json:"self"`
	RingVersion int64           `json:"ring_version"`
	Members     []clusterMember `json:"members"`
}

func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) error {
	self := clusterMember{
		Name:       s.node.Name(),
		State:      "alive",
		HTTPAddr:   r.Host,
		RoomsOwned: s.node.RoomsOwned(),
	}
	return writeJSON(w, http.StatusOK, clusterView{Self: self.Name, Members: []clusterMember{self}})
}

func (s *Server) handleClusterRoom(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.node.Ownership(id))
}
