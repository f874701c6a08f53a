"""The fax channel: faxes from fax-to-email gateways, their documents and page previews."""
