"""Site-owner data endpoints: profile export, outcomes from the site's server."""
