package wsconn

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Interest sets. EPOLLONESHOT: after one event the descriptor is disarmed until the
// worker that handled it re-arms it, so one connection never wakes two workers.
const (
	evRead  = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT
	evWrite = unix.EPOLLOUT
)

// poller is one epoll instance plus an eventfd that wakes its loop for shutdown.
// Each registration carries the descriptor and the connection's 32-bit id, so an
// event that races with a close and a reuse of the descriptor is recognised as
// stale and dropped.
type poller struct {
	epfd   int
	wakefd int
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("wsconn: epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("wsconn: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)} // Pad 0: the wake id
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("wsconn: epoll_ctl wake: %w", err)
	}
	return &poller{epfd: epfd, wakefd: wakefd}, nil
}

func (p *poller) add(fd int, id uint32) error {
	ev := unix.EpollEvent{Events: evRead, Fd: int32(fd), Pad: int32(id)}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// arm re-arms a one-shot registration with the given interest.
func (p *poller) arm(fd int, id uint32, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(id)}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}

func (p *poller) del(fd int) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait blocks until events arrive; EINTR is reported as zero events.
func (p *poller) wait(events []unix.EpollEvent) (int, error) {
	n, err := unix.EpollWait(p.epfd, events, -1)
	if errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	return n, err
}

// wake makes a blocked wait return with the wake event.
func (p *poller) wake() {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	_, _ = unix.Write(p.wakefd, b[:])
}

// drainWake consumes the eventfd counter.
func (p *poller) drainWake() {
	var b [8]byte
	_, _ = unix.Read(p.wakefd, b[:])
}

func (p *poller) close() {
	unix.Close(p.wakefd)
	unix.Close(p.epfd)
}
