"""Instagram API with Facebook Login for Business: dialog, scopes, flows, parsing, appsecret_proof."""
