module sidecars.io/webhook-floor

go 1.19
