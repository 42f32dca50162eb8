package manifest

// LoadInventory reads an inventory file on its own, for commands that read hosts without a
// manifest (import; access with -i only). The host groups its hosts name are defined empty, so
// the inventory validates without the manifest that would define them. A non-nil error is a
// usage problem (the file is missing).
func LoadInventory(path string) (*Manifest, []Diagnostic, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, nil, err
	}
	m, diags := parse([]Source{{Name: path, Data: data}}, true)
	m.APIVersion = APIVersion
	m.Files = []string{path}
	seen := map[string]bool{}
	for _, h := range m.Hosts {
		for _, g := range h.Groups {
			if !seen[g] {
				seen[g] = true
				m.HostGroups = append(m.HostGroups, HostGroup{Name: g, Users: []string{}})
			}
		}
	}
	diags = append(diags, validate(m)...)
	sortDiags(diags)
	return m, dedupe(diags), nil
}
