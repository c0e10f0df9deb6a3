package playbooks

import "gopkg.in/yaml.v3"

// becomeMethod reads a play's, block's or task's become_method: sudo,
// the only method sshplay's become speaks, is accepted so that playbooks
// that spell it out run unchanged; any other method is refused before
// anything runs rather than silently escalated with sudo.
func (p *parser) becomeMethod(v *yaml.Node) {
	if m := p.str(v, "become_method"); m != "sudo" && p.err == nil {
		p.fail(v, "not supported yet: become_method %s", m)
	}
}
