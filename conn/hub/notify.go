package hub

// Join and leave notifications (Options.OnJoin and OnLeave).
//
// They are delivered one at a time, in the order of the changes, so that
// the member counts they carry only ever step by one; each is called on
// the goroutine that made the change: Add's caller for OnJoin, and for
// OnLeave the caller of Remove, or the member's writer goroutine when a
// write failed or the member was disconnected for being slow (a goroutine
// of its conn.SendQueue: the writer, or for a queue that overflowed the
// one that closed the connection, once the closing handshake is over).
// The member is already in the hub when OnJoin runs (Member.Send reaches it) and no
// longer when OnLeave does. They may Broadcast, Send and call Len, but
// must not call Add or Remove, which wait for them: that deadlocks. A
// slow one delays the Add or Remove that called it and every change
// after it, never a broadcast. A panic unwinds that call, and the hub
// stays usable: Add has added the member (which the caller then has no
// handle to remove), Remove has removed it and stopped its writer. On a
// member's writer goroutine, a panic ends the program, as any panic in a
// goroutine of its own does.

// beginChange takes the lock that orders the notifications, when there
// are any to deliver. It reports whether it did.
func (h *Hub) beginChange() bool {
	if h.opts.OnJoin == nil && h.opts.OnLeave == nil {
		return false
	}
	h.notifyMu.Lock()
	return true
}

// endChange calls notify, if set, for the change that beginChange began,
// and releases the lock.
func (h *Hub) endChange(hooked bool, notify func(*Member, int), m *Member, members int) {
	if !hooked {
		return
	}
	defer h.notifyMu.Unlock()
	if notify != nil {
		notify(m, members)
	}
}
