package chat

// SearchHit is one result of a message search: the message, its content as HTML
// with the matched words in <mark> (and no other markup: everything else is
// escaped), and the messages just before and after it in its room (null at either
// end of the room), so that a result can be read in context.
type SearchHit struct {
	Message   Message  `json:"message"`
	Highlight string   `json:"highlight"`
	Before    *Message `json:"before"`
	After     *Message `json:"after"`
}
