"""What services hand to render: plain frozen dataclasses, no database rows, no Discord."""
