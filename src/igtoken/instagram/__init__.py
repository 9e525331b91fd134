"""Instagram API with Instagram Login: the authorize URL, scope rules, sans-I/O flows, parsing.

Also the OAuth plumbing Facebook Login reuses (state, callback parsing, request building, paging).
"""
