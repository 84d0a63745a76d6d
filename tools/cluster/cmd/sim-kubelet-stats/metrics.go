package main

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The kubelet's volume series, with its names, labels and help texts, so that
// dashboards and alerts written for a real kubelet read the simulation unchanged.
var (
	volumeLabels = []string{"namespace", "persistentvolumeclaim"}

	descCapacity   = prometheus.NewDesc("kubelet_volume_stats_capacity_bytes", "Capacity in bytes of the volume (SIMULATED)", volumeLabels, nil)
	descAvailable  = prometheus.NewDesc("kubelet_volume_stats_available_bytes", "Number of available bytes in the volume (SIMULATED)", volumeLabels, nil)
	descUsed       = prometheus.NewDesc("kubelet_volume_stats_used_bytes", "Number of used bytes in the volume (SIMULATED)", volumeLabels, nil)
	descInodes     = prometheus.NewDesc("kubelet_volume_stats_inodes", "Maximum number of inodes in the volume (SIMULATED)", volumeLabels, nil)
	descInodesFree = prometheus.NewDesc("kubelet_volume_stats_inodes_free", "Number of free inodes in the volume (SIMULATED)", volumeLabels, nil)
	descInodesUsed = prometheus.NewDesc("kubelet_volume_stats_inodes_used", "Number of used inodes in the volume (SIMULATED)", volumeLabels, nil)
)

// volumeCollector reads the caches at scrape time, so one collector per node
// stays current without any bookkeeping.
type volumeCollector struct {
	src  *statsSource
	node string
}

func (c volumeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCapacity, descAvailable, descUsed, descInodes, descInodesFree, descInodesUsed} {
		ch <- d
	}
}

func (c volumeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.src.pvcUsage(c.node) {
		for _, m := range []struct {
			desc *prometheus.Desc
			val  uint64
		}{
			{descCapacity, v.capacity},
			{descAvailable, v.available},
			{descUsed, v.used},
			{descInodes, v.inodes},
			{descInodesFree, v.inodesFree},
			{descInodesUsed, v.inodesUsed},
		} {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(m.val), v.namespace, v.pvcName)
		}
	}
}

// newNodeRegistry holds only this node's volume series: a fresh registry per
// node keeps nodes from seeing each other's volumes.
func newNodeRegistry(src *statsSource, node string) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(volumeCollector{src: src, node: node})
	return reg
}
