// RUN: kiln-opt %s -split-input-file -kiln-parallelize-foralls | FileCheck %s

// Tests that an outermost forall with enough work (64 x 4096 stores) becomes an OpenMP
// worksharing loop over its iterations.
// CHECK-LABEL: func.func @big
// CHECK: omp.parallel {
// CHECK-NEXT: omp.wsloop {
// CHECK-NEXT: omp.loop_nest (%{{.*}}) : index = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK: scf.for
// CHECK-NOT: scf.forall
func.func @big(%m: memref<64x4096xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%i) in (64) {
    scf.for %j = %c0 to %c4096 step %c1 {
      memref.store %one, %m[%i, %j] : memref<64x4096xf32>
    }
  }
  return
}

// -----

// Tests that a forall with little work stays a forall (it later runs serially as scf.for).
// CHECK-LABEL: func.func @small
// CHECK: scf.forall
// CHECK-NOT: omp.parallel
func.func @small(%m: memref<64x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%i) in (64) {
    scf.for %j = %c0 to %c16 step %c1 {
      memref.store %one, %m[%i, %j] : memref<64x16xf32>
    }
  }
  return
}

// -----

// Tests that only the outermost forall of a nest is parallel, and that one iteration is not.
// CHECK-LABEL: func.func @nested
// CHECK: omp.parallel
// CHECK: omp.loop_nest
// CHECK: scf.forall
// CHECK-LABEL: func.func @single
// CHECK-NOT: omp.parallel
func.func @nested(%m: memref<64x4096xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i) in (64) {
    scf.forall (%j) in (4096) {
      memref.store %one, %m[%i, %j] : memref<64x4096xf32>
    }
  }
  return
}
func.func @single(%m: memref<1x1048576xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cn = arith.constant 1048576 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%i) in (1) {
    scf.for %j = %c0 to %cn step %c1 {
      memref.store %one, %m[%i, %j] : memref<1x1048576xf32>
    }
  }
  return
}

// -----

// Tests that a tile's static scratch buffer becomes one per thread, at the start of the parallel
// region, outside the worksharing loop.
// CHECK-LABEL: func.func @scratch
// CHECK: omp.parallel {
// CHECK-NEXT: %[[BUF:.*]] = memref.alloca() : memref<4096xf32>
// CHECK-NEXT: omp.wsloop {
// CHECK-NOT: memref.alloca()
// CHECK: memref.store %{{.*}}, %[[BUF]]
func.func @scratch(%m: memref<64x4096xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %one = arith.constant 1.0 : f32
  scf.forall (%i) in (64) {
    %buf = memref.alloca() : memref<4096xf32>
    scf.for %j = %c0 to %c4096 step %c1 {
      memref.store %one, %buf[%j] : memref<4096xf32>
      %v = memref.load %buf[%j] : memref<4096xf32>
      memref.store %v, %m[%i, %j] : memref<64x4096xf32>
    }
  }
  return
}
